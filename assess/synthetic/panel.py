"""A synthetic panel of filings: one row per invented firm per year, realistic in its magnitudes, and deterministic.

One latent innovation capacity per firm drives its R&D, growth, staff, institutions, patents, market share and the
expert label, each with noise of its own: the rules then find realistic cases, and a classifier can learn the label
from the filed fields without recovering it perfectly. Firm traits are persistent (a growth path, a propensity to do
R&D, a productivity), so consecutive years look like the same firm. Magnitudes follow domain.md section 2, industries
weight the flagship-chain codes of section 6. The generator describes a plausible economy; it never applies the
engine's policy thresholds, which belong to the rule packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from assess import uscc
from assess.contract import load_contract
from assess.reference import load_reference

# Where firms are: the share of firms in each city follows its economic size (GDP 2023, 亿元, rounded).
CITY_WEIGHTS: dict[str, float] = {
    "3702": 15760,  # 青岛
    "3701": 12757,  # 济南
    "3706": 10162,  # 烟台
    "3707": 7606,  # 潍坊
    "3713": 6105,  # 临沂
    "3708": 5516,  # 济宁
    "3703": 4561,  # 淄博
    "3717": 4464,  # 菏泽
    "3714": 3910,  # 德州
    "3705": 3620,  # 东营
    "3709": 3410,  # 泰安
    "3710": 3408,  # 威海
    "3716": 3009,  # 滨州
    "3715": 2877,  # 聊城
    "3711": 2397,  # 日照
    "3704": 2096,  # 枣庄
}
# Some districts and counties of each city (GB/T 2260), where firms are registered.
COUNTIES: dict[str, tuple[tuple[str, str], ...]] = {
    "3701": (
        ("370102", "历下区"),
        ("370103", "市中区"),
        ("370104", "槐荫区"),
        ("370105", "天桥区"),
        ("370112", "历城区"),
        ("370113", "长清区"),
        ("370114", "章丘区"),
        ("370115", "济阳区"),
        ("370116", "莱芜区"),
    ),
    "3702": (
        ("370202", "市南区"),
        ("370203", "市北区"),
        ("370211", "黄岛区"),
        ("370212", "崂山区"),
        ("370213", "李沧区"),
        ("370214", "城阳区"),
        ("370215", "即墨区"),
        ("370281", "胶州市"),
        ("370283", "平度市"),
        ("370285", "莱西市"),
    ),
    "3703": (
        ("370302", "淄川区"),
        ("370303", "张店区"),
        ("370304", "博山区"),
        ("370305", "临淄区"),
        ("370306", "周村区"),
        ("370321", "桓台县"),
    ),
    "3704": (("370402", "市中区"), ("370403", "薛城区"), ("370405", "台儿庄区"), ("370481", "滕州市")),
    "3705": (("370502", "东营区"), ("370503", "河口区"), ("370505", "垦利区"), ("370523", "广饶县")),
    "3706": (
        ("370602", "芝罘区"),
        ("370611", "福山区"),
        ("370613", "莱山区"),
        ("370614", "蓬莱区"),
        ("370681", "龙口市"),
        ("370685", "招远市"),
    ),
    "3707": (
        ("370702", "潍城区"),
        ("370705", "奎文区"),
        ("370781", "青州市"),
        ("370782", "诸城市"),
        ("370783", "寿光市"),
        ("370785", "高密市"),
    ),
    "3708": (("370811", "任城区"), ("370812", "兖州区"), ("370881", "曲阜市"), ("370883", "邹城市")),
    "3709": (("370902", "泰山区"), ("370911", "岱岳区"), ("370982", "新泰市"), ("370983", "肥城市")),
    "3710": (("371002", "环翠区"), ("371003", "文登区"), ("371082", "荣成市"), ("371083", "乳山市")),
    "3711": (("371102", "东港区"), ("371103", "岚山区"), ("371122", "莒县")),
    "3713": (("371302", "兰山区"), ("371311", "罗庄区"), ("371312", "河东区"), ("371321", "沂南县")),
    "3714": (("371402", "德城区"), ("371403", "陵城区"), ("371481", "乐陵市"), ("371482", "禹城市")),
    "3715": (("371502", "东昌府区"), ("371503", "茌平区"), ("371581", "临清市")),
    "3716": (("371602", "滨城区"), ("371603", "沾化区"), ("371625", "博兴县"), ("371681", "邹平市")),
    "3717": (("371702", "牡丹区"), ("371703", "定陶区"), ("371721", "曹县")),
}
CITY_LEVEL_REGISTRATION = 0.25  # share of firms registered with the city's own authority (code XXXX00)

# What firms do: relative weights of GB/T 4754 divisions, mostly manufacturing (Shandong's heavy chemical and
# machinery base), some mining and utilities, software and research services.
DIVISION_WEIGHTS: dict[str, float] = {
    "06": 1.2, "08": 0.5, "09": 0.5, "10": 0.8,
    "13": 6.0, "14": 3.0, "15": 1.5, "17": 4.0, "18": 2.0, "19": 0.5, "20": 1.0, "21": 1.0, "22": 2.0, "23": 1.0,
    "24": 1.0, "25": 3.0, "26": 10.0, "27": 4.0, "28": 1.0, "29": 5.0, "30": 6.0, "31": 2.0, "32": 2.5, "33": 6.0,
    "34": 8.0, "35": 7.0, "36": 5.0, "37": 1.5, "38": 6.0, "39": 4.0, "40": 1.5, "41": 0.5, "42": 1.0, "43": 0.5,
    "44": 2.5, "45": 1.0, "46": 1.0,
    "65": 8.0,
    "73": 4.0,
}  # fmt: skip
# Indicative flagship-chain codes (domain.md section 6): divisions, groups and classes. Classes under a listed
# group or class are favoured within their division; a firm under any prefix counts as flagship-chain here.
FLAGSHIP_PREFIXES: tuple[str, ...] = (
    "13", "14", "17", "18", "22", "25", "26", "27", "28", "29", "30", "31", "32", "35", "36", "63",
    "397", "6520", "3562", "3985", "391", "651", "392", "653", "654", "655", "656", "657", "659",
    "342", "371", "372", "3412", "3841", "381", "3491", "3492", "374", "4414", "384", "4415", "4416", "3415",
    "3825", "3061", "3062", "373", "3737", "265", "266", "357", "358", "351", "343", "385", "395", "355",
)  # fmt: skip
FLAGSHIP_CLASS_BOOST = 3.0
HIGH_TECH_DIVISIONS = ("27", "35", "37", "39", "40")  # more R&D than the rest of manufacturing

# Names: city + a two-character brand + a word for the trade + the legal form, e.g. 济南恒信精密机械有限公司.
BRAND_FIRST = tuple("恒泰华鑫宏瑞盛隆昌信诚德安康丰源达通利祥海润博远兴嘉永聚创卓金银元辰宇天正中东新")
BRAND_SECOND = tuple("达泰源丰润瑞科业力昇辉宸邦锐威硕鼎晟翔茂合和康安远华昊明晨峰驰腾航洋佳杰益成尚")
BRAND_EXTRA = tuple("一立开宁平汇景乐同福光泽")  # appended to a brand until every name is unique
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "06": ("煤业", "矿业"), "08": ("矿业",), "09": ("矿业", "有色矿业"), "10": ("矿业", "石材"),
    "13": ("粮油", "农产品", "饲料"), "14": ("食品", "乳业"), "15": ("酒业", "饮品"), "17": ("纺织", "棉纺"),
    "18": ("服饰", "制衣"), "19": ("皮革", "鞋业"), "20": ("木业",), "21": ("家居",), "22": ("纸业",),
    "23": ("印务", "包装"), "24": ("文体用品",), "25": ("石化", "能源化工"), "26": ("化工", "新材料", "精细化工"),
    "27": ("制药", "生物医药", "药业"), "28": ("化纤", "纤维"), "29": ("橡胶", "塑业", "轮胎"),
    "30": ("建材", "陶瓷", "玻璃"), "31": ("钢铁", "特钢"), "32": ("铝业", "铜业", "有色金属"),
    "33": ("金属制品", "五金"), "34": ("机械", "精密机械", "重工", "动力"), "35": ("装备", "专用设备", "智能装备"),
    "36": ("汽车零部件", "汽车部件"), "37": ("船舶", "轨道交通装备"), "38": ("电气", "电器", "新能源"),
    "39": ("电子", "微电子", "通信"), "40": ("仪器仪表", "测控"), "41": ("制品",), "42": ("再生资源", "环保"),
    "43": ("设备维修",), "44": ("能源", "电力", "热力"), "45": ("燃气",), "46": ("水务",),
    "65": ("软件", "信息技术", "数字科技"), "73": ("技术研究院", "科技研究"),
}  # fmt: skip
LEGAL_FORMS = ("有限公司", "股份有限公司", "集团有限公司")

# The engine's reference point for size effects: a typical filer's revenue, 万元.
LOG_TYPICAL_REVENUE = float(np.log(3000.0))
# The statistics bureau's 规上 flag follows the previous year's main-business revenue (domain.md section 2, 万元);
# the flag is data a bureau reports, so the generator reproduces how the bureau sets it.
ABOVE_SCALE_MAIN_REVENUE = 2000.0
ABOVE_SCALE_SECTIONS = ("B", "C", "D")
# Large industrial firms (统计上大中小微型企业划分办法 2017); the expert review covers the others (SMEs).
LARGE_EMPLOYEES = 1000
LARGE_REVENUE = 40000.0
EXPERT_REVIEW_SHARE = 0.15  # of SME firm-years in flagship-chain industries
INSTITUTIONS = ("无", "企业自建", "市级", "省级", "国家级")
AWARDS = ("无", "省部级", "国家级")
DESIGNATIONS = ("科技领军", "科技小巨人", "专精特新小巨人", "专精特新")
NEW_ORG_CODES_FROM = np.datetime64("2015-10-01")  # firms registered since get a 'MA…' organisation code


@dataclass(frozen=True)
class Profile:
    """How a section's firms differ: size, labour productivity, R&D habits, software copyrights."""

    revenue_median: float  # first-year revenue, 万元
    revenue_sigma: float  # of log revenue
    productivity: float  # revenue per employee of a typical firm, 万元
    rd_propensity: float  # shift of the log-odds of doing any R&D
    rd_intensity: float  # median R&D / revenue of firms doing R&D
    class2_shift: float  # shift of the log rate of class-II IP (software copyrights count there)


PROFILES: dict[str, Profile] = {
    "B": Profile(8000, 1.3, 160, -0.9, 0.008, -0.5),
    "C": Profile(3000, 1.5, 75, 0.0, 0.018, 0.0),
    "D": Profile(12000, 1.3, 260, -1.2, 0.006, -0.8),
    "I": Profile(1200, 1.4, 40, 1.2, 0.07, 1.2),
    "M": Profile(700, 1.3, 35, 1.8, 0.12, 0.4),
}


def generate_panel(enterprises: int, first_year: int, last_year: int, seed: int) -> pl.DataFrame:
    """Filings of `enterprises` invented firms for every year from `first_year` to `last_year`, one row per firm
    and year, columns named and ordered by the contract. The same arguments give the same frame."""
    if enterprises < 1 or last_year < first_year:
        raise ValueError("enterprises must be positive and last_year not before first_year")
    rng = np.random.default_rng(seed)
    firms = _firms(rng, enterprises, first_year)
    years = np.arange(first_year, last_year + 1)
    yearly = _Yearly(rng, firms, years).columns()
    return _frame(firms, yearly, years)


# --- firms ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Firms:
    """Firm traits that do not change from year to year (arrays of one value per firm)."""

    capacity: np.ndarray  # latent innovation capacity, standard normal
    section: np.ndarray
    industry_code: np.ndarray
    flagship: np.ndarray
    high_tech: np.ndarray
    city: np.ndarray
    county: np.ndarray
    credit_code: np.ndarray
    name: np.ndarray
    founded: np.ndarray  # datetime64[D]
    log_revenue: np.ndarray  # first year

    @property
    def size(self) -> int:
        return self.capacity.size

    def profile(self, attribute: str) -> np.ndarray:
        return _by_section(self.section, attribute)


def _by_section(section: np.ndarray, attribute: str) -> np.ndarray:
    """A profile attribute for each firm, from its section."""
    values = {letter: getattr(profile, attribute) for letter, profile in PROFILES.items()}
    return np.vectorize(values.__getitem__, otypes=[float])(section)


def _firms(rng: np.random.Generator, n: int, first_year: int) -> Firms:
    capacity = rng.standard_normal(n)
    codes = _industry_codes(rng, n)
    sections = _sections()
    section = np.array([sections[code] for code in codes])
    city_prefix, county_code, county = _places(rng, n)
    region = np.where(rng.random(n) < CITY_LEVEL_REGISTRATION, np.char.add(city_prefix, "00"), county_code)
    age_years = 0.5 + rng.lognormal(np.log(10.0), 0.6, n).clip(max=45)
    founded = np.datetime64(f"{first_year}-01-01") - (age_years * 365.25).astype("timedelta64[D]")
    # Larger for older and, slightly, for more innovative firms.
    log_revenue = (
        np.log(_by_section(section, "revenue_median"))
        + _by_section(section, "revenue_sigma") * rng.standard_normal(n)
        + 0.15 * capacity
        + 0.4 * np.log(age_years / 10)
    )
    cities = load_contract().cities
    city = np.array([cities[prefix] for prefix in city_prefix])
    return Firms(
        capacity=capacity,
        section=section,
        industry_code=codes,
        flagship=_starts_with_any(codes, FLAGSHIP_PREFIXES),
        high_tech=_starts_with_any(codes, HIGH_TECH_DIVISIONS),
        city=city,
        county=county,
        credit_code=_credit_codes(rng, region, founded),
        name=_names(rng, city, codes, log_revenue),
        founded=founded,
        log_revenue=log_revenue,
    )


@cache
def _industry_classes() -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Every class (4-digit code) of a weighted division, with its sampling weight."""
    classes = [code for code in _sections() if len(code) == 4]
    per_division = {division: [c for c in classes if c.startswith(division)] for division in DIVISION_WEIGHTS}
    chosen, weights = [], []
    for division, members in per_division.items():
        boost = [FLAGSHIP_CLASS_BOOST if _is_specific_flagship(c) else 1.0 for c in members]
        for code, b in zip(members, boost, strict=True):
            chosen.append(code)
            weights.append(DIVISION_WEIGHTS[division] * b / sum(boost))
    return tuple(chosen), tuple(weights)


def _is_specific_flagship(code: str) -> bool:
    return any(code.startswith(p) for p in FLAGSHIP_PREFIXES if len(p) > 2)


def _sections() -> dict[str, str]:
    """GB/T 4754-2017 division, group and class codes -> section letter."""
    return load_reference(load_contract()).industry_sections


def _industry_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    classes, weights = _industry_classes()
    p = np.asarray(weights) / sum(weights)
    return np.asarray(classes)[rng.choice(len(classes), size=n, p=p)]


def _starts_with_any(codes: np.ndarray, prefixes: tuple[str, ...]) -> np.ndarray:
    return pl.Series(codes).str.contains(f"^({'|'.join(prefixes)})").to_numpy()


def _places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """City prefix (4 digits), county code and county name of each firm."""
    prefixes = np.asarray(list(CITY_WEIGHTS))
    weights = np.asarray(list(CITY_WEIGHTS.values()))
    city_prefix = prefixes[rng.choice(prefixes.size, size=n, p=weights / weights.sum())]
    pick = rng.random(n)
    county_code = np.empty(n, dtype="<U6")
    county = np.empty(n, dtype="<U8")
    for prefix, counties in COUNTIES.items():
        here = city_prefix == prefix
        index = (pick[here] * len(counties)).astype(int)
        county_code[here] = np.asarray([c for c, _ in counties])[index]
        county[here] = np.asarray([name for _, name in counties])[index]
    return city_prefix, county_code, county


def _credit_codes(rng: np.random.Generator, region: np.ndarray, founded: np.ndarray) -> np.ndarray:
    """Valid, unique codes: 9 (market regulation), 1 (enterprise), the registering authority's region, a unique
    organisation code (8 digits, or 'MA' + 6 characters for firms registered since the 2015 reform) with its GB 11714
    check character, and the GB 32100 check character."""
    n = region.size
    serial = rng.choice(10**8, size=n, replace=False)
    old = np.char.zfill(serial.astype(str), 8)
    alphabet = np.asarray(list(uscc.ALPHABET))
    digits = np.stack([(serial // 31**k) % 31 for k in range(5, -1, -1)], axis=1)
    new = np.char.add("MA", alphabet[digits].view("<U6").ravel())
    org8 = np.where(founded >= NEW_ORG_CODES_FROM, new, old)
    first17 = [f"91{r}{o}{uscc.org_check_char(o)}" for r, o in zip(region, org8, strict=True)]
    return np.asarray([f + uscc.check_char(f) for f in first17])


def _names(rng: np.random.Generator, city: np.ndarray, codes: np.ndarray, log_revenue: np.ndarray) -> np.ndarray:
    n = city.size
    brand = np.char.add(
        np.asarray(BRAND_FIRST)[rng.integers(len(BRAND_FIRST), size=n)],
        np.asarray(BRAND_SECOND)[rng.integers(len(BRAND_SECOND), size=n)],
    ).astype("<U12")
    pick = rng.random(n)
    words = [INDUSTRY_WORDS[code[:2]] for code in codes]
    word = np.asarray([w[int(p * len(w))] for w, p in zip(words, pick, strict=True)])
    # Larger firms are more often joint-stock companies or groups.
    size_rank = (np.argsort(np.argsort(log_revenue)) + 0.5) / n
    form = np.where(size_rank > 0.99, 2, np.where(rng.random(n) < 0.05 + 0.3 * size_rank**4, 1, 0))
    suffix = np.asarray(LEGAL_FORMS)[form]
    while True:
        names = pl.Series([f"{c}{b}{w}{s}" for c, b, w, s in zip(city, brand, word, suffix, strict=True)])
        repeated = (pl.int_range(pl.len()).over(pl.col("name")) > 0).alias("repeated")
        again = names.to_frame("name").select(repeated).to_series().to_numpy()
        if not again.any():
            return names.to_numpy()
        extra = np.asarray(BRAND_EXTRA)[rng.integers(len(BRAND_EXTRA), size=int(again.sum()))]
        brand[again] = np.char.add(brand[again], extra)


# --- years ---------------------------------------------------------------------------------------------------------


class _Yearly:
    """The firm-year values, as (firms, years) arrays, generated in dependency order."""

    def __init__(self, rng: np.random.Generator, firms: Firms, years: np.ndarray) -> None:
        self.rng = rng
        self.firms = firms
        self.years = years
        self.t = np.arange(years.size)[None, :]
        self.z = firms.capacity[:, None]

    def trait(self, sd: float) -> np.ndarray:
        """A persistent firm effect, as a column that broadcasts over the years."""
        return self.rng.normal(0.0, sd, (self.firms.size, 1))

    def noise(self, sd: float) -> np.ndarray:
        return self.rng.normal(0.0, sd, (self.firms.size, self.years.size))

    def firm_column(self, values: np.ndarray) -> np.ndarray:
        return values[:, None]

    def columns(self) -> dict[str, np.ndarray]:
        log_revenue = self._log_revenue()
        revenue = np.round(np.exp(log_revenue), 2)
        size = log_revenue - LOG_TYPICAL_REVENUE
        rd_active, intensity = self._rd(size)
        rd_expense = np.where(rd_active, np.maximum(np.round(revenue * intensity, 2), 0.01), 0.0)
        employees, tech_staff, rd_staff = self._staff(size, rd_active)
        hte = self._hte(size, rd_active, intensity)
        main_revenue = self._main_revenue(revenue)
        columns = {
            "revenue": revenue,
            "main_revenue": main_revenue,
            "rd_expense": rd_expense,
            **self._financials(revenue, rd_expense, hte),
            "employees": employees,
            "rd_staff": rd_staff,
            "tech_staff": tech_staff,
            "rd_institution": self._institution(size, rd_active),
            **self._ip(np.log(rd_expense + 1.0), rd_active),
            "standards_led": self._standards(),
            "award_level": self._award(size),
            "market_share": self._market_share(size),
            "is_hte": hte,
            "is_tech_sme": self._tech_sme(size, rd_active, tech_staff / employees, employees),
            "above_scale": self._above_scale(main_revenue),
        }
        columns["designation"] = self._designation(size)
        columns["expert_label"] = self._expert_label(revenue, employees, rd_expense, columns)
        columns["rd_internal_expenditure"] = self._statistical_rd(rd_expense, columns["above_scale"])
        return columns

    def _statistical_rd(self, rd_expense: np.ndarray, above_scale: np.ndarray) -> np.ndarray:
        """R&D经费内部支出, which most firms above the statistical size file and the rest leave blank: 80-100 % of the
        accounting R&D expense (a nil expense files a nil expenditure)."""
        files = (above_scale == 1.0) & (self.rng.random((self.firms.size, 1)) < 0.75)
        share = 0.8 + 0.2 * self.rng.random(rd_expense.shape)
        return np.where(files, np.round(rd_expense * share, 2), np.nan)

    def _log_revenue(self) -> np.ndarray:
        """A persistent growth path: the firm's own trend (faster for innovative firms), a shared
        business cycle and yearly shocks, bounded so that a real firm never seems to jump by a factor of ten."""
        firms = self.firms
        trend = 0.04 + 0.05 * self.z + self.trait(0.06)
        cycle = self.rng.normal(0.0, 0.04, (1, self.years.size))
        steps = np.clip(trend + cycle + self.noise(0.12), -0.7, 0.7)
        steps[:, 0] = 0.0
        log_revenue = self.firm_column(firms.log_revenue) + np.cumsum(steps, axis=1)
        return np.maximum(log_revenue, np.log(5.0))

    def _main_revenue(self, revenue: np.ndarray) -> np.ndarray:
        share = 0.85 + 0.15 * self.rng.beta(4.0, 1.2, (self.firms.size, 1)) + self.noise(0.01)
        return np.round(revenue * np.clip(share, 0.85, 1.0), 2)

    def _rd(self, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether the firm does R&D this year (persistent, likelier for large and innovative firms) and its
        intensity when it does: skewed, around 1-6 % in manufacturing."""
        high_tech = self.firm_column(self.firms.high_tech)
        score = (
            -0.05
            + 0.55 * size
            + 0.9 * self.z
            + self.firm_column(self.firms.profile("rd_propensity"))
            + 0.4 * high_tech
            + self.trait(0.9)
            + self.noise(0.35)
        )
        log_intensity = (
            np.log(self.firm_column(self.firms.profile("rd_intensity")))
            + 0.3 * high_tech
            + 0.3 * self.z
            - 0.08 * size
            + self.trait(0.5)
            + self.noise(0.15)
        )
        return score > 0, np.clip(np.exp(log_intensity), 0.0005, 0.4)

    def _staff(self, size: np.ndarray, rd_active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Employees from revenue and a persistent productivity; tech and R&D staff as nested shares of them."""
        log_productivity = np.log(self.firm_column(self.firms.profile("productivity"))) + 0.15 * size + self.trait(0.45)
        employees = np.maximum(np.round(np.exp(size + LOG_TYPICAL_REVENUE - log_productivity)), 3).astype(np.int64)
        knowledge = np.isin(self.firm_column(self.firms.section), ("I", "M"))
        tech_logit = -2.2 + 0.6 * self.z + 0.9 * rd_active + 1.6 * knowledge + self.trait(0.5) + self.noise(0.1)
        tech_staff = np.floor(employees / (1.0 + np.exp(-tech_logit))).astype(np.int64)
        rd_share = np.clip(0.35 + 0.5 * self.rng.beta(2.0, 2.0, (self.firms.size, 1)) + self.noise(0.03), 0, 1)
        rd_staff = np.where(rd_active, np.floor(tech_staff * rd_share), 0).astype(np.int64)
        return employees, tech_staff, rd_staff

    def _financials(self, revenue: np.ndarray, rd_expense: np.ndarray, hte: np.ndarray) -> dict[str, np.ndarray]:
        """Costs, balance sheet and high-tech product income; a few firms leave the optional amounts blank."""
        cost_ratio = 0.8 + 0.22 * self.rng.beta(5.0, 3.0, (self.firms.size, 1)) + self.noise(0.02)
        total_cost = np.maximum(np.round(revenue * cost_ratio, 2), rd_expense)
        turnover = np.exp(self.trait(0.4) + self.noise(0.05))
        total_assets = np.round(revenue / turnover, 2)
        debt_ratio = np.clip(1.15 * self.rng.beta(4.0, 4.0, (self.firms.size, 1)) + self.noise(0.03), 0.02, 1.3)
        total_liabilities = np.round(total_assets * debt_ratio, 2)
        hitech_share = 0.6 + 0.35 * self.rng.beta(2.0, 2.0, (self.firms.size, 1))
        blank = np.broadcast_to(self.rng.random((self.firms.size, 1)) < 0.04, revenue.shape)
        amounts = {
            "total_cost": total_cost,
            "total_assets": total_assets,
            "total_liabilities": total_liabilities,
            "net_assets": np.round(total_assets - total_liabilities, 2),
        }
        amounts = {name: np.where(blank, np.nan, values) for name, values in amounts.items()}
        amounts["hitech_revenue"] = np.where(hte, np.round(revenue * hitech_share, 2), np.nan)
        return amounts

    def _institution(self, size: np.ndarray, rd_active: np.ndarray) -> np.ndarray:
        """Institutions grow with size and capacity and, once recognised, are not lost; firms without R&D this year
        report none."""
        latent = 0.75 * size + 1.0 * self.z + self.trait(0.8) + 0.12 * self.t
        level = np.digitize(np.maximum.accumulate(latent, axis=1), (1.4, 2.0, 2.9, 4.3))
        return np.where(rd_active, level, 0)

    def _hte(self, size: np.ndarray, rd_active: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """High-tech enterprises: innovative firms spending well on R&D, recognised over the years and kept while
        they do R&D."""
        latent = 1.0 * self.z + 0.9 * np.log(intensity / 0.02) + 0.2 * size + self.trait(0.7) + 0.15 * self.t
        return rd_active & (np.maximum.accumulate(latent, axis=1) > 1.1)

    def _tech_sme(
        self, size: np.ndarray, rd_active: np.ndarray, tech_share: np.ndarray, employees: np.ndarray
    ) -> np.ndarray:
        """Registered tech SMEs: small, staffed with technicians, doing R&D (the gates fade in, not cut)."""
        too_big = np.maximum(size - np.log(5.0), 0) + np.maximum(np.log(employees / 400.0), 0)
        latent = 0.8 * self.z + 4.0 * tech_share - 4.0 * too_big + self.trait(0.7)
        return rd_active & (latent > 0.6)

    def _ip(self, log_rd: np.ndarray, rd_active: np.ndarray) -> dict[str, np.ndarray]:
        """Stocks of valid invention patents and class-II IP: a stock at the first year plus yearly grants, zero for
        many firms, growing with R&D spending and capacity."""
        never = self.rng.random((self.firms.size, 1)) < 0.3
        invention_rate = np.where(rd_active & ~never, np.exp(-2.6 + 0.45 * log_rd + 0.5 * self.z + self.trait(0.5)), 0)
        class2_rate = np.exp(
            np.where(rd_active, -1.6 + 0.45 * log_rd, -2.8)
            + 0.3 * self.z
            + self.firm_column(self.firms.profile("class2_shift"))
            + self.trait(0.5)
        )
        return {
            "invention_patents": self._stock(invention_rate),
            "class2_ip": self._stock(class2_rate),
        }

    def _stock(self, rate: np.ndarray) -> np.ndarray:
        """Counts that accumulate: what a few years at the first year's rate left, plus each later year's grants."""
        years_active = self.rng.uniform(0.0, 5.0, (self.firms.size, 1))
        initial = self.rng.poisson(rate[:, :1] * years_active)
        grants = self.rng.poisson(rate)
        grants[:, 0] = 0
        return (initial + np.cumsum(grants, axis=1)).astype(np.int64)

    def _since(self, low: int, high: int) -> np.ndarray:
        """Whether a firm-level event, in a year drawn between first_year + low and last_year + high, has happened."""
        year = self.rng.integers(self.years[0] + low, self.years[-1] + high + 1, (self.firms.size, 1))
        return self.years[None, :] >= year

    def _standards(self) -> np.ndarray:
        """Standards led in the last five years: rare, by large innovative firms."""
        leads = self.firm_column(self.firms.log_revenue - LOG_TYPICAL_REVENUE) * 0.6 + 1.0 * self.z + self.trait(0.8)
        count = 1 + self.rng.poisson(0.7, (self.firms.size, 1))
        return np.where((leads > 3.3) & self._since(-4, 2), count, 0).astype(np.int64)

    def _award(self, size: np.ndarray) -> np.ndarray:
        """The highest S&T award of the last five years, as a level of AWARDS: rare, national ones rarer."""
        latent = 0.5 * size.mean(axis=1, keepdims=True) + 1.2 * self.z + self.trait(1.0)
        return np.digitize(latent, (3.0, 4.9)) * self._since(-4, 2)

    def _market_share(self, size: np.ndarray) -> np.ndarray:
        """Reported by a minority, and by them every year; percent (0-100)."""
        reports = self.rng.random((self.firms.size, 1)) < 1 / (1 + np.exp(1.9 - 0.5 * self.z - 0.3 * size[:, :1]))
        log_share = np.log(3.0) + 0.5 * self.z + 0.3 * size + self.trait(0.8) + self.noise(0.08)
        return np.where(reports, np.round(np.clip(np.exp(log_share), 0.05, 85.0), 2), np.nan)

    def _designation(self, size: np.ndarray) -> np.ndarray:
        """Titles already held (rare), from the year they were granted, as a bit mask over DESIGNATIONS."""
        mean_size = size.mean(axis=1, keepdims=True)
        standing = 1.2 * self.z + 0.4 * mean_size + self.trait(0.8)
        large = mean_size > np.log(15.0)
        titles = {
            "科技领军": large & (standing > 4.0),
            "科技小巨人": ~large & (mean_size > np.log(1.5)) & (1.2 * self.z + self.trait(0.8) > 3.4),
            "专精特新小巨人": ~large & (standing > 3.4),
            "专精特新": ~large & (standing > 2.5) & (standing <= 3.4),
        }
        return sum((titles[t] & self._since(-3, 1)) * (1 << bit) for bit, t in enumerate(DESIGNATIONS))

    def _above_scale(self, main_revenue: np.ndarray) -> np.ndarray:
        """The bureau's flag, set on last year's main-business revenue, for industrial firms that report it; 1.0
        true, 0.0 false, NaN not reported."""
        previous = np.concatenate([main_revenue[:, :1], main_revenue[:, :-1]], axis=1)
        industrial = np.isin(self.firm_column(self.firms.section), ABOVE_SCALE_SECTIONS)
        reports = industrial & (self.rng.random((self.firms.size, 1)) < 0.7)
        return np.where(reports, (previous >= ABOVE_SCALE_MAIN_REVENUE).astype(float), np.nan)

    def _expert_label(
        self, revenue: np.ndarray, employees: np.ndarray, rd_expense: np.ndarray, columns: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Expert verdicts on a subset: SMEs in flagship-chain industries, nominated more often when innovative.
        The verdict weighs the firm's true capacity and what the experts see (R&D, growth, patents, market share),
        with the noise of any human judgement. 1.0 confirmed, 0.0 rejected, NaN not reviewed."""
        sme = (employees < LARGE_EMPLOYEES) | (revenue < LARGE_REVENUE)
        nominated = self.rng.random(revenue.shape) < EXPERT_REVIEW_SHARE * 2 / (1 + np.exp(-0.5 * self.z))
        reviewed = sme & self.firm_column(self.firms.flagship) & nominated
        growth = np.diff(np.log(revenue), axis=1, prepend=np.log(revenue[:, :1]))
        seen = (
            0.6 * np.log1p(100 * rd_expense / revenue)
            + 2.0 * growth
            + 0.4 * (columns["invention_patents"] > 0)
            + 0.3 * np.nan_to_num(np.log1p(columns["market_share"]))
        )
        verdict = 0.9 * self.z + 0.7 * seen + self.noise(0.9) > 1.3
        return np.where(reviewed, verdict.astype(float), np.nan)


# --- the frame -----------------------------------------------------------------------------------------------------


def _frame(firms: Firms, yearly: dict[str, np.ndarray], years: np.ndarray) -> pl.DataFrame:
    n, t = firms.size, years.size
    fixed = pl.DataFrame(
        {
            "credit_code": firms.credit_code,
            "name": firms.name,
            "city": firms.city,
            "county": firms.county,
            "industry_code": firms.industry_code,
            "founded": firms.founded,
        }
    )
    frame = fixed.select(pl.all().gather(np.repeat(np.arange(n), t))).with_columns(
        year=pl.Series(np.tile(years, n)),
        chain=pl.lit(None, dtype=pl.String),
        **{name: _series(name, array.ravel()) for name, array in yearly.items()},
    )
    kinds = {spec.name: spec.kind for spec in load_contract().fields}
    return frame.select(pl.col(name).cast(_dtype(kind)) for name, kind in kinds.items())


def _labels() -> dict[str, dict[int, str | None]]:
    """Columns generated as codes: institution and award levels, and designation bit masks."""
    titles = {
        mask: "、".join(t for bit, t in enumerate(DESIGNATIONS) if mask >> bit & 1) or None
        for mask in range(1 << len(DESIGNATIONS))
    }
    return {
        "rd_institution": dict(enumerate(INSTITUTIONS)),
        "award_level": dict(enumerate(AWARDS)),
        "designation": titles,
    }


def _series(name: str, values: np.ndarray) -> pl.Series:
    """Coded columns become their labels; NaN means "not filled"."""
    series = pl.Series(name, values)
    labels = _labels().get(name)
    if labels is not None:
        return series.replace_strict(labels, return_dtype=pl.String)
    if series.dtype.is_float():
        return series.fill_nan(None)
    return series


def _dtype(kind: str) -> pl.DataType:
    return {
        "year": pl.Int32(),
        "money": pl.Float64(),
        "percent": pl.Float64(),
        "count": pl.Int64(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
    }.get(kind, pl.String())
