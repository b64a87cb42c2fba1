"""Files the engine writes for people: styled Excel workbooks (problem lists, the blank filing template)."""
