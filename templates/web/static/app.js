// assess web app, written for this project (no third-party code): drag and drop onto the upload form, a progress
// bar while the files upload and while they are checked. Without it the forms still work.
"use strict";

function showChosen(input, list) {
  list.replaceChildren(...Array.from(input.files).map((file) => {
    const item = document.createElement("li");
    item.textContent = `${file.name}（${(file.size / 1048576).toFixed(1)} MB）`;
    return item;
  }));
}

function follow(jobUrl, text, bar) {
  fetch(jobUrl, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((job) => {
      if (job.state === "done" && job.result) { window.location.assign(job.result); return; }
      if (job.state === "failed") { window.location.assign(jobUrl.replace(/\/state$/, "")); return; }
      text.textContent = job.state === "queued" ? `排队中：本项排第 ${job.place} 位` : `正在检查：${job.step}`;
      bar.value = job.share;
      setTimeout(() => follow(jobUrl, text, bar), 700);
    })
    .catch(() => setTimeout(() => follow(jobUrl, text, bar), 1500));
}

function upload(form, event) {
  event.preventDefault();
  const box = document.getElementById("progress");
  const text = document.getElementById("progress-text");
  const bar = document.getElementById("progress-bar");
  box.hidden = false;
  form.querySelector("button[type=submit]").disabled = true;
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("X-Requested-With", "assess");
  request.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) { bar.value = e.loaded / e.total; text.textContent = `正在上传：${Math.round(100 * e.loaded / e.total)}%`; }
  });
  request.addEventListener("load", () => {
    if (request.status === 200) {
      bar.value = 0;
      text.textContent = "已上传，正在检查……";
      follow(JSON.parse(request.responseText).job + "/state", text, bar);
    } else {
      const page = new DOMParser().parseFromString(request.responseText, "text/html");
      const said = page.querySelector("[role=alert]");
      text.textContent = said ? said.textContent : `上传未完成（${request.status}）：请重试。`;
      text.classList.add("bad");
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
  request.addEventListener("error", () => { text.textContent = "上传中断：请检查网络后重试。"; });
  request.send(new FormData(form));
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const drop = document.getElementById("drop");
  const input = document.getElementById("files");
  const list = document.getElementById("chosen");
  input.addEventListener("change", () => showChosen(input, list));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    input.files = e.dataTransfer.files;
    showChosen(input, list);
  });
  form.addEventListener("submit", (e) => upload(form, e));
});
