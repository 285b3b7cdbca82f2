"""Product search on a real tantivy index (no mocks), over a small realistic catalog."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from medreach.catalog.search import SearchDoc, SearchIndex, SearchQuery

SYNONYMS = {"感冒": ["上呼吸道感染", "伤风"], "退烧": ["解热", "发热"]}
T0 = 1_700_000_000


def _doc(id, name, brand, mfr, ind, tags, path, cls, price, sales, days):
    return SearchDoc(id=id, generic_name=name, brand_name=brand, manufacturer=mfr, indications=ind, tags=tags,
                     category_code=path[-1], category_path=path, drug_class=cls, price_fen=price, sales=sales,
                     created_ts=T0 + days * 86400)


# Prices, sales and creation days are all distinct so every sort has one right answer.
CATALOG = [
    _doc(1, "板蓝根颗粒", "白云山", "广州白云山和记黄埔中药有限公司",
         "清热解毒，凉血利咽。用于肺胃热盛所致的咽喉肿痛、口咽干燥",
         ["清热解毒", "家庭常备"], ["cold_flu"], "otc_a", 1590, 8800, 1),
    _doc(2, "布洛芬缓释胶囊", "芬必得", "中美天津史克制药有限公司",
         "用于缓解轻至中度疼痛如头痛、关节痛、牙痛，也用于普通感冒或流行性感冒引起的发热",
         ["止痛"], ["pain"], "otc_a", 2680, 12000, 2),
    _doc(3, "对乙酰氨基酚片", "泰诺林", "上海强生制药有限公司",
         "解热镇痛药。用于缓解轻至中度疼痛如头痛、关节痛、神经痛",
         ["儿童可用"], ["pain"], "otc_a", 1250, 6000, 3),
    _doc(4, "感冒灵颗粒", "999", "华润三九医药股份有限公司",
         "解表，用于头痛，鼻塞，流涕，咽痛",
         [], ["cold_flu"], "otc_a", 1880, 20000, 4),
    _doc(5, "复方氨酚烷胺片", "感康", "吉林省吴太感康药业有限公司",
         "适用于缓解上呼吸道感染引起的鼻塞、流涕、咽痛、头痛",
         [], ["cold_flu"], "otc_a", 1600, 3000, 5),
    _doc(6, "连花清瘟胶囊", "以岭", "石家庄以岭药业股份有限公司",
         "清瘟解毒，宣肺泄热。用于治疗流行性感冒属热毒袭肺证",
         ["中成药", "感冒"], ["cold_flu"], "otc_a", 3950, 15000, 6),
    _doc(7, "阿莫西林胶囊", "联邦", "珠海联邦制药股份有限公司",
         "适用于敏感菌所致的中耳炎、鼻窦炎、咽炎、扁桃体炎",
         [], ["antibiotic"], "rx", 1200, 4000, 7),
    _doc(8, "奥美拉唑肠溶胶囊", "洛赛克", "阿斯利康制药有限公司",
         "适用于胃溃疡、十二指肠溃疡、反流性食管炎",
         [], ["digestive"], "rx", 3200, 2500, 8),
    _doc(9, "蒙脱石散", "思密达", "博福-益普生(天津)制药有限公司",
         "用于成人及儿童急、慢性腹泻",
         ["儿童可用"], ["digestive"], "otc_a", 2050, 7000, 9),
    _doc(10, "电子血压计", "欧姆龙", "欧姆龙健康医疗(中国)有限公司",
         "用于测量人体血压和脉率",
         [], ["device", "device_bp"], "device", 29900, 5000, 10),
    _doc(11, "电子体温计", "鱼跃", "江苏鱼跃医疗设备股份有限公司",
         "用于测量人体体温",
         ["家庭常备"], ["device", "device_thermo"], "device", 1990, 9000, 11),
    _doc(12, "维生素C咀嚼片", "汤臣倍健", "汤臣倍健股份有限公司",
         "补充维生素C",
         [], ["health_food"], "health_food", 6800, 11000, 12),
    _doc(13, "复方板蓝根颗粒", "同仁堂", "广州白云山和记黄埔中药有限公司",
         "清热解毒，凉血消肿",
         ["中成药"], ["cold_flu"], "otc_b", 990, 500, 13),
    _doc(14, "六味地黄丸", "同仁堂", "北京同仁堂科技发展股份有限公司",
         "滋阴补肾。用于肾阴亏损，头晕耳鸣，腰膝酸软",
         ["中成药"], ["tcm"], "otc_a", 2800, 6500, 14),
    _doc(15, "布洛芬混悬液", "美林", "上海强生制药有限公司",
         "用于儿童普通感冒或流行性感冒引起的发热",
         ["儿童可用"], ["pain"], "otc_a", 2380, 9500, 15),
    _doc(16, "硝苯地平控释片", "拜新同", "拜耳医药保健有限公司",
         "用于高血压，冠心病，慢性稳定型心绞痛",
         [], ["cardio", "cardio_bp"], "rx", 3350, 1800, 16),
    _doc(17, "医用退热贴", "润贝", "珠海国佳新材股份有限公司",
         "物理降温，适用于儿童退烧",
         [], ["device", "device_thermo"], "device", 1580, 2200, 17),
]
BY_ID = {d.id: d for d in CATALOG}
ALL = 100  # a limit above the catalog size


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    ix = SearchIndex(None, synonyms=SYNONYMS)
    assert ix.rebuild(CATALOG) == len(CATALOG)
    return ix


@pytest.fixture()
def fresh() -> SearchIndex:
    ix = SearchIndex(None, synonyms=SYNONYMS)
    ix.rebuild(dataclasses.replace(d) for d in CATALOG)
    return ix


def ids(index: SearchIndex, text: str = "", **kw) -> list[int]:
    return index.search(SearchQuery(text=text, limit=ALL, **kw)).ids


# ---- Chinese, partial words, pinyin, initials

@pytest.mark.parametrize("text", ["板蓝根", "板蓝根颗粒", "蓝根", "banlangen", "blg", "banl", "BanLanGen",
                                  "ban lan gen", "ｂａｎｌａｎｇｅｎ", "blgkl"])
def test_banlangen_is_found_every_way(index, text):
    found = ids(index, text)
    assert found[0] == 1, found
    assert set(found) <= {1, 13}


def test_partial_word_inside_a_name(index):
    assert ids(index, "氨基酚") == [3]
    assert ids(index, "西林") == [7]
    assert 16 in ids(index, "地平")


def test_pinyin_of_a_later_word_and_brand(index):
    assert ids(index, "keli")[:3] and set(ids(index, "keli")) >= {1, 4, 13}   # 颗粒
    assert ids(index, "fenbide") == [2]                                        # brand 芬必得
    assert ids(index, "tnl") == [3]                                            # brand initials 泰诺林


def test_brand_and_manufacturer_text_are_searchable(index):
    assert ids(index, "芬必得") == [2]
    assert ids(index, "汤臣倍健") == [12]


# ---- synonyms

def test_tuishao_finds_jiere_through_synonyms(index):
    found = ids(index, "退烧")
    assert 3 in found                       # says only 解热镇痛
    assert 17 in found                      # says 退烧 itself
    assert {2, 15} <= set(found)            # say 发热
    assert 9 not in found


def test_synonyms_are_symmetric(index):
    assert 17 in ids(index, "解热")          # 17 only says 退烧
    assert 3 in ids(index, "发热")


def test_ganmao_finds_upper_respiratory_infection(index):
    found = ids(index, "感冒")
    assert 5 in found                       # only says 上呼吸道感染
    assert {2, 4, 6, 15} <= set(found)
    assert 7 not in found


def test_x_yao_means_medicine_for_x(index):
    assert {4, 5, 6} <= set(ids(index, "感冒药"))   # 5 through 感冒 -> 上呼吸道感染
    assert 3 in ids(index, "退烧药")
    assert 7 not in ids(index, "感冒药")


def test_without_synonym_table_there_is_no_expansion():
    ix = SearchIndex(None)
    ix.rebuild(CATALOG)
    assert 5 not in ix.search(SearchQuery(text="感冒", limit=ALL)).ids
    assert 3 not in ix.search(SearchQuery(text="退烧", limit=ALL)).ids


# ---- ranking

def test_field_order_then_sales(index):
    found = ids(index, "感冒")
    assert found[0] == 4                    # in the name
    assert found[1] == 6                    # in the tags
    assert found.index(2) < found.index(15)  # both in indications only: more sales first
    assert found[-1] == 5                   # only through a synonym


def test_brand_beats_manufacturer(index):
    found = ids(index, "白云山")
    assert found == [1, 13]                 # 1: brand 白云山; 13: only the manufacturer


# ---- typos

def test_pinyin_typo_is_corrected(index):
    r = index.search(SearchQuery(text="banlangn"))
    assert r.ids[0] == 1
    assert r.corrected == "板蓝根"


def test_exact_pinyin_is_not_corrected(index):
    assert index.search(SearchQuery(text="banlangen")).corrected is None


def test_chinese_homophone_is_corrected(index):
    r = index.search(SearchQuery(text="板兰根"))
    assert r.ids[0] == 1
    assert r.corrected == "板蓝根"


def test_when_no_product_has_every_word_all_but_one_must_match(index):
    assert set(ids(index, "白云山 板蓝根 片")) == {1, 13}  # no 板蓝根 tablet exists


def test_nonsense_finds_nothing(index):
    r = index.search(SearchQuery(text="zzzzqqqq"))
    assert (r.ids, r.total, r.corrected) == ([], 0, None)
    assert r.facets == {"category": {}, "drug_class": {}, "brand": {}, "manufacturer": {}}


# ---- filters

def expect(pred) -> set[int]:
    return {d.id for d in CATALOG if pred(d)}


@pytest.mark.parametrize("kw, pred", [
    ({"category": "device"}, lambda d: "device" in d.category_path),
    ({"category": "device_thermo"}, lambda d: d.category_code == "device_thermo"),
    ({"category": "cardio"}, lambda d: "cardio" in d.category_path),
    ({"drug_classes": ["rx"]}, lambda d: d.drug_class == "rx"),
    ({"drug_classes": ["rx", "health_food"]}, lambda d: d.drug_class in ("rx", "health_food")),
    ({"price_min": 1250, "price_max": 1600}, lambda d: 1250 <= d.price_fen <= 1600),
    ({"price_min": 3000}, lambda d: d.price_fen >= 3000),
    ({"price_max": 1200}, lambda d: d.price_fen <= 1200),
    ({"brand": "同仁堂"}, lambda d: d.brand_name == "同仁堂"),
    ({"manufacturer": "上海强生制药有限公司"}, lambda d: d.manufacturer == "上海强生制药有限公司"),
    ({"category": "cold_flu", "drug_classes": ["otc_a"], "price_max": 1900},
     lambda d: d.category_code == "cold_flu" and d.drug_class == "otc_a" and d.price_fen <= 1900),
])
def test_filters_without_text(index, kw, pred):
    r = index.search(SearchQuery(limit=ALL, **kw))
    assert set(r.ids) == expect(pred)
    assert r.total == len(r.ids)


def test_filters_narrow_a_text_search(index):
    assert set(ids(index, "感冒")) >= {2, 4, 15}
    assert set(ids(index, "感冒", category="pain")) == {2, 15}
    assert set(ids(index, "感冒", brand="美林")) == {15}
    assert set(ids(index, "感冒", manufacturer="华润三九医药股份有限公司")) == {4}
    assert set(ids(index, "感冒", price_min=2000, price_max=3000)) == {2, 15}
    assert set(ids(index, "感冒", drug_classes=["rx"])) == set()
    assert ids(index, "blg", drug_classes=["otc_b"]) == [13]


def test_brand_filter_is_exact(index):
    assert ids(index, brand="同仁") == []


# ---- sorting and paging

@pytest.mark.parametrize("sort, key, reverse", [
    ("price_asc", lambda d: d.price_fen, False),
    ("price_desc", lambda d: d.price_fen, True),
    ("sales", lambda d: d.sales, True),
    ("newest", lambda d: d.created_ts, True),
    ("relevance", lambda d: d.sales, True),  # empty text: by popularity
])
def test_sorting_the_whole_catalog(index, sort, key, reverse):
    want = [d.id for d in sorted(CATALOG, key=key, reverse=reverse)]
    assert ids(index, sort=sort) == want


def test_sorting_a_text_search(index):
    found = ids(index, "感冒", sort="price_asc")
    assert [BY_ID[i].price_fen for i in found] == sorted(BY_ID[i].price_fen for i in found)
    found = ids(index, "感冒", sort="sales")
    assert [BY_ID[i].sales for i in found] == sorted((BY_ID[i].sales for i in found), reverse=True)


def test_paging(index):
    everything = ids(index, sort="price_asc")
    pages = [index.search(SearchQuery(sort="price_asc", limit=5, offset=o)) for o in range(0, 20, 5)]
    assert [i for p in pages for i in p.ids] == everything
    assert all(p.total == len(CATALOG) for p in pages)
    assert index.search(SearchQuery(limit=0)).ids == []


def test_unknown_sort_is_rejected(index):
    with pytest.raises(ValueError, match="unknown sort 'cheapest'"):
        index.search(SearchQuery(sort="cheapest"))


# ---- facets

def facet_counts(docs) -> dict[str, dict[str, int]]:
    out = {"category": {}, "drug_class": {}, "brand": {}, "manufacturer": {}}
    for d in docs:
        for c in dict.fromkeys([*d.category_path, d.category_code]):
            out["category"][c] = out["category"].get(c, 0) + 1
        for key, value in (("drug_class", d.drug_class), ("brand", d.brand_name), ("manufacturer", d.manufacturer)):
            out[key][value] = out[key].get(value, 0) + 1
    return out


def test_facets_of_the_whole_catalog(index):
    r = index.search(SearchQuery(limit=1))
    assert r.facets == facet_counts(CATALOG)
    assert r.facets["category"]["device"] == 3  # ancestors are counted too


def test_facets_cover_all_matches_and_respect_filters(index):
    r = index.search(SearchQuery(text="感冒", limit=1))
    assert len(r.ids) == 1
    assert r.facets == facet_counts(BY_ID[i] for i in ids(index, "感冒"))
    assert sum(r.facets["drug_class"].values()) == r.total

    r = index.search(SearchQuery(text="感冒", category="pain", limit=1))
    assert r.facets == facet_counts([BY_ID[2], BY_ID[15]])


# ---- suggestions

@pytest.mark.parametrize("prefix", ["banl", "blg", "板蓝", "BANL", "ban lan", "banlangenk"])
def test_suggest_banlangen(index, prefix):
    assert index.suggest(prefix)[0] == "板蓝根颗粒"


def test_suggest_other_names_and_brands(index):
    assert set(index.suggest("bu")) >= {"布洛芬缓释胶囊", "布洛芬混悬液"}
    assert set(index.suggest("dz")) == {"电子血压计", "电子体温计"}
    assert "同仁堂" in index.suggest("tongren")  # brands come after names
    assert set(index.suggest("fufang")) == {"复方氨酚烷胺片", "复方板蓝根颗粒"}
    assert len(index.suggest("b", limit=2)) == 2
    assert index.suggest("") == []
    assert index.suggest("zzzz") == []


# ---- writes

def test_upsert_replaces_by_id(fresh):
    assert 1 not in ids(fresh, price_min=50_000)
    fresh.upsert([dataclasses.replace(BY_ID[1], price_fen=59_900, brand_name="新白云山")])
    assert ids(fresh, price_min=50_000) == [1]
    assert 1 not in ids(fresh, price_min=1000, price_max=2000)
    assert ids(fresh, "板蓝根").count(1) == 1
    assert fresh.search(SearchQuery()).total == len(CATALOG)
    assert ids(fresh, brand="新白云山") == [1]
    assert ids(fresh, brand="白云山") == []


def test_upsert_adds_new_products(fresh):
    fresh.upsert([_doc(100, "奥司他韦胶囊", "可威", "宜昌东阳光长江药业股份有限公司", "用于甲型和乙型流行性感冒治疗",
                       [], ["cold_flu"], "rx", 6900, 100, 30)])
    for text in ("奥司他韦", "司他韦", "aositawei", "ostw", "aosi"):
        assert ids(fresh, text) == [100], text
    assert fresh.suggest("aos") == ["奥司他韦胶囊"]
    assert fresh.search(SearchQuery()).total == len(CATALOG) + 1


def test_delete_removes(fresh):
    fresh.delete([1, 9999])
    assert ids(fresh, "板蓝根") == [13]
    assert fresh.suggest("banl") == []
    assert fresh.search(SearchQuery()).total == len(CATALOG) - 1
    assert "白云山" not in fresh.search(SearchQuery()).facets["brand"]


def test_rebuild_replaces_everything(fresh):
    assert fresh.rebuild(CATALOG[:3]) == 3
    assert sorted(ids(fresh)) == [1, 2, 3]


def test_rebuild_reports_progress():
    ix = SearchIndex(None)
    seen: list[int] = []
    many = [dataclasses.replace(CATALOG[i % len(CATALOG)], id=i + 1) for i in range(2500)]
    assert ix.rebuild(iter(many), progress=seen.append) == 2500
    assert seen == [1000, 2000, 2500]


def test_on_disk_index_survives_reopening(tmp_path):
    path = tmp_path / "search"
    ix = SearchIndex(path, synonyms=SYNONYMS)
    ix.rebuild(CATALOG)
    ix.close()
    del ix
    again = SearchIndex(path, synonyms=SYNONYMS)
    assert ids(again, "板蓝根")[0] == 1
    assert ids(again, "blg")[0] == 1
    assert 3 in ids(again, "退烧")
    again.upsert([dataclasses.replace(BY_ID[1], price_fen=1)])
    assert ids(again, price_max=1) == [1]
    again.close()


def test_two_instances_on_one_folder_both_write_and_see_each_other(tmp_path):
    # As two web-server processes would: no writer is held between writes.
    a = SearchIndex(tmp_path / "search", synonyms=SYNONYMS)
    a.rebuild(CATALOG)
    b = SearchIndex(tmp_path / "search", synonyms=SYNONYMS)
    assert ids(b, "板蓝根")[0] == 1
    b.upsert([dataclasses.replace(BY_ID[2], price_fen=7)])
    a.upsert([dataclasses.replace(BY_ID[3], price_fen=8)])
    assert sorted(ids(a, price_max=8)) == [2, 3]
    deadline = time.monotonic() + 10  # b learns of a's commit through tantivy's file watcher
    while sorted(ids(b, price_max=8)) != [2, 3] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(ids(b, price_max=8)) == [2, 3]


def test_a_folder_that_is_not_an_index_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="is not a MedReach search index"):
        SearchIndex(tmp_path)


def test_concurrent_searches_while_upserting(fresh):
    errors: list[BaseException] = []
    stop = threading.Event()
    queries = [SearchQuery(text=t) for t in ("板蓝根", "banl", "blg", "感冒", "退烧", "banlangn", "")] + [
        SearchQuery(category="device", sort="price_asc"),
        SearchQuery(text="感冒", drug_classes=["otc_a"], sort="sales"),
    ]
    # The writer only changes prices and deletes ids the catalogue does not hold, so every query matches the same
    # products throughout: a reader that sees another count saw a half-applied commit.
    totals = [fresh.search(q).total for q in queries]
    assert all(totals[:7]) and totals[-2] > 0 and totals[-1] > 0

    def reader(n: int) -> None:
        try:
            i = n
            while not stop.is_set():
                r = fresh.search(queries[i % len(queries)])
                assert r.total == totals[i % len(queries)], (queries[i % len(queries)], r.total)
                fresh.suggest("banl")
                i += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    try:
        for k in range(30):
            d = BY_ID[1 + k % len(CATALOG)]
            fresh.upsert([dataclasses.replace(d, price_fen=d.price_fen + k)])
            if k % 10 == 9:
                fresh.delete([200 + k])
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors
    assert fresh.search(SearchQuery()).total == len(CATALOG)
    assert ids(fresh, "板蓝根")[0] == 1
