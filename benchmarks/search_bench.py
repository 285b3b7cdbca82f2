"""Benchmark for medreach.catalog.search on a synthetic 100k-product catalog.

    .venv/bin/python benchmarks/search_bench.py [--docs 100000] [--queries 2000] [--seed 7]

Builds the index on disk in a temporary folder (docs/s), then runs a seeded mix of queries
(Chinese words, partial words, synonyms, pinyin, pinyin prefixes, initials, typos, filters, all
sorts, empty text + filters; every search computes its facet counts) one after another and prints
p50/p95/p99 latency and QPS, per kind too; then the same mix from 4 threads, then suggest().
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from medreach.catalog.search import SearchDoc, SearchIndex, SearchQuery  # noqa: E402

# stem, category path, drug classes, indications
STEMS: list[tuple[str, list[str], list[str], str]] = [
    ("布洛芬", ["pain"], ["otc_b", "otc_a"],
     "用于缓解轻至中度疼痛如头痛、关节痛、牙痛，也用于普通感冒或流行性感冒引起的发热"),
    ("对乙酰氨基酚", ["pain"], ["otc_a"], "用于普通感冒或流行性感冒引起的发热，也用于缓解轻至中度疼痛，解热镇痛"),
    ("阿司匹林", ["cardio", "cardio_antiplatelet"], ["otc_a", "rx"], "解热镇痛，抑制血小板聚集"),
    ("阿莫西林", ["antibiotic"], ["rx"], "用于敏感菌所致的上呼吸道感染、泌尿生殖道感染"),
    ("头孢克肟", ["antibiotic"], ["rx"], "用于敏感菌引起的支气管炎、肺炎、尿路感染"),
    ("阿奇霉素", ["antibiotic"], ["rx"], "用于化脓性链球菌引起的急性咽炎、急性扁桃体炎"),
    ("左氧氟沙星", ["antibiotic"], ["rx"], "用于敏感细菌所引起的呼吸系统感染、泌尿系统感染"),
    ("板蓝根", ["cold_flu"], ["otc_a", "otc_b"], "清热解毒，凉血利咽。用于肺胃热盛所致的咽喉肿痛、口咽干燥"),
    ("连花清瘟", ["cold_flu"], ["otc_a"],
     "清瘟解毒，宣肺泄热。用于治疗流行性感冒属热毒袭肺证，症见发热、恶寒、肌肉酸痛"),
    ("感冒灵", ["cold_flu"], ["otc_a"], "解热镇痛。用于感冒引起的头痛，发热，鼻塞，流涕，咽痛"),
    ("复方氨酚烷胺", ["cold_flu"], ["otc_a"], "适用于缓解普通感冒及流行性感冒引起的发热、头痛、鼻塞、咽痛"),
    ("蒲地蓝消炎", ["cold_flu"], ["otc_a"], "清热解毒，抗炎消肿。用于疖肿、腮腺炎、咽炎、扁桃体炎"),
    ("双黄连", ["cold_flu"], ["otc_a"], "疏风解表，清热解毒。用于外感风热所致的感冒，症见发热、咳嗽、咽痛"),
    ("银翘解毒", ["cold_flu"], ["otc_a"], "疏风解表，清热解毒。用于风热感冒，症见发热头痛、咳嗽口干"),
    ("小柴胡", ["cold_flu"], ["otc_a"], "解表散热，疏肝和胃。用于外感病，寒热往来，胸胁苦满"),
    ("藿香正气", ["digestive"], ["otc_a"],
     "解表化湿，理气和中。用于外感风寒、内伤湿滞或夏伤暑湿所致的感冒，胃肠型感冒"),
    ("氨溴索", ["cough"], ["otc_a", "rx"], "适用于痰液粘稠而不易咳出者，急慢性支气管炎"),
    ("右美沙芬", ["cough"], ["otc_a"], "用于干咳，包括上呼吸道感染、支气管炎等引起的咳嗽"),
    ("川贝枇杷", ["cough"], ["otc_a"], "清热宣肺，化痰止咳。用于风热犯肺、痰热内阻所致的咳嗽痰黄"),
    ("氯雷他定", ["allergy"], ["otc_a"], "用于缓解过敏性鼻炎有关的症状，如喷嚏、流涕、鼻痒、鼻塞"),
    ("西替利嗪", ["allergy"], ["otc_a"], "用于季节性或常年性过敏性鼻炎、荨麻疹及皮肤瘙痒"),
    ("奥美拉唑", ["digestive"], ["otc_b", "rx"], "适用于胃溃疡、十二指肠溃疡、反流性食管炎，胃酸过多"),
    ("铝碳酸镁", ["digestive"], ["otc_a"], "用于慢性胃炎，与胃酸有关的胃部不适症状，如胃痛、胃灼热、酸性嗳气"),
    ("蒙脱石", ["digestive"], ["otc_a"], "用于成人及儿童急、慢性腹泻"),
    ("健胃消食", ["digestive"], ["otc_b"], "健胃消食。用于脾胃虚弱所致的食积，不思饮食，嗳腐酸臭"),
    ("二甲双胍", ["diabetes"], ["rx"], "用于单纯饮食控制及体育锻炼治疗无效的2型糖尿病"),
    ("格列美脲", ["diabetes"], ["rx"], "适用于控制饮食、运动疗法及减轻体重均不能充分控制血糖的2型糖尿病"),
    ("硝苯地平", ["cardio", "cardio_bp"], ["rx"], "用于高血压、冠心病、慢性稳定型心绞痛"),
    ("苯磺酸氨氯地平", ["cardio", "cardio_bp"], ["rx"], "高血压，冠心病，降压"),
    ("缬沙坦", ["cardio", "cardio_bp"], ["rx"], "用于治疗轻、中度原发性高血压"),
    ("阿托伐他汀钙", ["cardio", "cardio_lipid"], ["rx"], "高胆固醇血症，降血脂，冠心病"),
    ("六味地黄", ["tcm"], ["otc_a"], "滋阴补肾。用于肾阴亏损，头晕耳鸣，腰膝酸软，骨蒸潮热，盗汗遗精"),
    ("牛黄解毒", ["tcm"], ["otc_a"], "清热解毒。用于火热内盛，咽喉肿痛，牙龈肿痛，口舌生疮"),
    ("云南白药", ["tcm"], ["otc_a"], "化瘀止血，活血止痛，解毒消肿。用于跌打损伤，瘀血肿痛"),
    ("莫匹罗星", ["skin"], ["otc_a"], "革兰阳性球菌引起的皮肤感染，例如脓疱病、疖肿、毛囊炎"),
    ("红霉素", ["skin"], ["otc_a"], "用于脓疱疮等化脓性皮肤病、小面积烧伤、溃疡面的感染"),
    ("奥司他韦", ["cold_flu"], ["rx"], "用于成人和1岁及1岁以上儿童的甲型和乙型流感治疗"),
    ("孟鲁司特钠", ["allergy"], ["rx"], "适用于哮喘的预防和长期治疗，减轻过敏性鼻炎引起的症状"),
    ("维生素C", ["vitamin"], ["otc_b", "health_food"], "用于预防坏血病，补充维生素C，增强免疫力"),
    ("复合维生素B", ["vitamin"], ["otc_b"], "用于营养不良、厌食、脚气病、糙皮病"),
    ("碳酸钙D3", ["vitamin"], ["otc_b", "health_food"], "用于儿童、妊娠和哺乳期妇女、更年期妇女、老年人等的钙补充剂"),
]
FORMS = ["片", "胶囊", "颗粒", "口服液", "缓释片", "缓释胶囊", "分散片", "咀嚼片", "泡腾片", "软膏", "糖浆",
         "混悬液", "滴丸", "丸", "软胶囊", "肠溶片", "喷雾剂", "干混悬剂"]
PREFIXES = ["", "", "", "", "复方", "小儿", "儿童"]
DEVICES = [
    ("电子血压计", ["device", "device_bp"], "用于测量人体血压和脉率，家用上臂式"),
    ("血糖仪", ["device", "device_glucose"], "用于测量毛细血管全血中的葡萄糖浓度"),
    ("血糖试纸", ["device", "device_glucose"], "配合血糖仪使用，检测血糖"),
    ("电子体温计", ["device", "device_thermo"], "用于测量人体体温，发热时监测"),
    ("红外额温枪", ["device", "device_thermo"], "非接触式测量额头温度"),
    ("医用外科口罩", ["device", "device_protect"], "用于临床医务人员在有创操作等过程中所佩戴"),
    ("医用退热贴", ["device", "device_thermo"], "用于物理降温，退烧，儿童发热"),
    ("制氧机", ["device", "device_resp"], "家用吸氧，缓解缺氧症状"),
]
FOODS = [("蛋白粉", "增强免疫力"), ("鱼油软胶囊", "辅助降血脂"), ("氨糖软骨素", "增加骨密度"),
         ("益生菌", "调节肠道菌群"), ("褪黑素", "改善睡眠"), ("叶酸片", "补充叶酸")]
BRANDS = ["白云山", "999", "芬必得", "泰诺林", "以岭", "同仁堂", "修正", "仁和", "哈药", "江中", "汤臣倍健", "鱼跃",
          "欧姆龙", "云南白药", "扬子江", "石药", "恒瑞", "齐鲁", "华北制药", "太极", "葵花", "康恩贝", "健民",
          "九芝堂", "片仔癀", "三精", "达喜", "息斯敏", "开瑞坦", "仙琚", "拜耳", "辉瑞", "诺华", "阿斯利康",
          "感康", "新康泰克", "白加黑", "护彤", "小葵花", "妈咪爱", "思密达", "斯达舒", "吗丁啉", "三九胃泰"]
SYL = list("康安宁泰华瑞德仁和信诚恒达利通美佳益寿福禄元正")
CITIES = ["北京", "上海", "广州", "深圳", "天津", "重庆", "成都", "杭州", "南京", "武汉", "西安", "长春", "哈尔滨",
          "济南", "石家庄", "昆明", "贵阳", "南宁", "合肥", "郑州", "长沙", "南昌", "福州", "沈阳", "兰州"]
TAGS = ["清热解毒", "儿童可用", "孕妇慎用", "家庭常备", "感冒发烧", "止咳化痰", "肠胃调理", "慢病用药", "医保",
        "进口", "中成药", "西药", "会员特价", "新品", "热销"]
# Usage and caution clauses make nearly every indications text unique, as in a real catalog
# (otherwise the per-string analysis cache would flatter the build rate).
USAGE = ["口服，一次{}{}，一日{}次", "温开水送服，一次{}{}，一日{}次", "饭后服用，一次{}{}，每日{}次",
         "外用，一次{}{}，一日{}次", "儿童用量请咨询医师或药师，一次{}{}，一日{}次"]
UNITS = ["片", "粒", "袋", "支", "丸", "毫升"]
NOTES = ["", "。孕妇及哺乳期妇女慎用", "。服药期间忌烟酒及辛辣食物", "。对本品过敏者禁用", "。如症状未缓解请咨询医师",
         "。儿童必须在成人监护下使用", "。高血压、心脏病患者慎用", "。不宜在服药期间同时服用滋补性中药"]
SYNONYMS = {
    "感冒": ["上呼吸道感染", "伤风"],
    "退烧": ["解热", "发热", "退热"],
    "拉肚子": ["腹泻"],
    "降压": ["高血压"],
    "胃疼": ["胃痛"],
}


def make_catalog(n: int, seed: int) -> list[SearchDoc]:
    rnd = random.Random(seed)
    brands = list(BRANDS)
    while len(brands) < 300:
        b = rnd.choice(SYL) + rnd.choice(SYL) + rnd.choice(["", "", "堂", "牌", "药业"])
        if b not in brands:
            brands.append(b)
    mfrs = []
    while len(mfrs) < 800:
        m = (rnd.choice(CITIES) + rnd.choice(brands[:120]) + rnd.choice(SYL)
             + rnd.choice(["制药有限公司", "药业有限公司", "药业股份有限公司", "医疗器械有限公司"]))
        if m not in mfrs:
            mfrs.append(m)
    now = int(time.time())
    docs: list[SearchDoc] = []
    for i in range(1, n + 1):
        r = rnd.random()
        if r < 0.85:
            stem, path, classes, ind = rnd.choice(STEMS)
            name = rnd.choice(PREFIXES) + stem + rnd.choice(FORMS)
            cls = rnd.choice(classes)
        elif r < 0.93:
            name, path, ind = rnd.choice(DEVICES)
            cls = "device"
        else:
            base, ind = rnd.choice(FOODS)
            name, path, cls = base, ["health_food"], "health_food"
        if rnd.random() < 0.9:  # a few brands have most of the products
            brand = brands[min(int(rnd.paretovariate(1.1)) - 1, len(brands) - 1)]
        else:
            brand = rnd.choice(brands)
        docs.append(SearchDoc(
            id=i, generic_name=name, brand_name=brand, manufacturer=rnd.choice(mfrs),
            indications=(f"{ind}。{rnd.choice(USAGE).format(rnd.randint(1, 4), rnd.choice(UNITS), rnd.randint(1, 3))}"
                         f"{rnd.choice(NOTES)}" if rnd.random() < 0.95 else ""),
            tags=rnd.sample(TAGS, rnd.randint(0, 3)),
            category_code=path[-1], category_path=list(path), drug_class=cls,
            price_fen=int(rnd.lognormvariate(7.8, 0.9)), sales=int(rnd.paretovariate(0.8)) - 1,
            created_ts=now - rnd.randint(0, 3 * 365 * 86400),
        ))
    return docs


def make_queries(n: int, seed: int, docs: list[SearchDoc]) -> list[tuple[str, SearchQuery]]:
    rnd = random.Random(seed + 1)
    chinese = ["布洛芬", "板蓝根", "连花清瘟", "感冒灵", "阿莫西林", "奥美拉唑", "血压计", "体温计", "维生素C",
               "六味地黄丸", "蒙脱石散", "止咳", "咳嗽", "过敏性鼻炎", "高血压", "糖尿病", "儿童 退烧", "咽喉肿痛",
               "缓释胶囊", "颗粒", "口罩", "云南白药", "清热解毒", "胃痛", "头孢"]
    partial = ["蓝根", "洛芬", "氨基酚", "清瘟", "莫西", "血糖", "地黄", "司他韦"]
    synonyms = ["感冒", "退烧", "拉肚子", "降压", "胃疼"]
    pinyin = ["buluofen", "banlangen", "lianhuaqingwen", "ganmaoling", "amoxilin", "xueyaji", "weishengsu",
              "yunnanbaiyao", "ban lan gen", "aomeilazuo", "mengtuoshi"]
    prefixes = ["banl", "bul", "lianh", "ganm", "amo", "xuey", "liuw", "weis", "k", "xiao"]
    initials = ["blg", "blf", "lhqw", "gml", "amxl", "xyj", "lwdh", "ynby", "ytsf"]
    typos = ["banlangn", "buluofn", "lianhuaqingwn", "ganmaolin", "amoxiln", "xueyajj"]
    cats = ["cold_flu", "pain", "antibiotic", "cardio", "cardio_bp", "digestive", "device", "device_bp",
            "vitamin", "health_food", "tcm", "allergy"]
    kinds = [("chinese", chinese, 0.25), ("partial", partial, 0.08), ("synonym", synonyms, 0.08),
             ("pinyin", pinyin, 0.12), ("prefix", prefixes, 0.1), ("initials", initials, 0.1),
             ("typo", typos, 0.05), ("filters_only", [""], 0.12), ("match_all", [""], 0.02),
             ("text+filters", chinese + pinyin, 0.08)]
    out: list[tuple[str, SearchQuery]] = []
    weights = [k[2] for k in kinds]
    for _ in range(n):
        kind, pool, _w = rnd.choices(kinds, weights)[0]
        sort = rnd.choice(["relevance"] * 4 + ["price_asc", "price_desc", "sales", "newest"])
        q = SearchQuery(text=rnd.choice(pool), sort=sort,
                        limit=20, offset=rnd.choice([0, 0, 0, 20, 40]))
        if kind in ("filters_only", "text+filters"):
            d = rnd.choice(docs)
            for _f in range(rnd.randint(1, 3)):
                f = rnd.choice(["category", "class", "price", "brand", "manufacturer"])
                if f == "category":
                    q.category = rnd.choice(cats)
                elif f == "class":
                    q.drug_classes = rnd.sample(["rx", "otc_a", "otc_b", "device", "health_food"], rnd.randint(1, 2))
                elif f == "price":
                    lo = rnd.choice([0, 1000, 2000, 5000])
                    q.price_min, q.price_max = lo, lo + rnd.choice([1000, 3000, 10000])
                elif f == "brand":
                    q.brand = d.brand_name
                else:
                    q.manufacturer = d.manufacturer
        out.append((kind, q))
    return out


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))]


def fmt(ms: list[float]) -> str:
    return (f"n={len(ms):5d}  p50={pct(ms, 50):7.2f}  p95={pct(ms, 95):7.2f}  p99={pct(ms, 99):7.2f}  "
            f"max={max(ms):7.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from importlib.metadata import version

    import tantivy

    print(f"# medreach search benchmark  {dt.datetime.now().isoformat(timespec='seconds')}")
    print(f"machine: {platform.machine()} cores={os.cpu_count()} python={platform.python_version()} "
          f"tantivy={version('tantivy')} ({tantivy.__version__}) jieba={version('jieba')} "
          f"pypinyin={version('pypinyin')}")

    t = time.perf_counter()
    docs = make_catalog(args.docs, args.seed)
    print(f"catalog: {len(docs)} products generated in {time.perf_counter() - t:.1f}s "
          f"({len({d.generic_name for d in docs})} distinct names, {len({d.brand_name for d in docs})} brands, "
          f"{len({d.manufacturer for d in docs})} manufacturers)")

    with tempfile.TemporaryDirectory(prefix="medreach-search-") as tmp:
        t = time.perf_counter()
        index = SearchIndex(Path(tmp) / "idx", synonyms=SYNONYMS)
        t_open = time.perf_counter() - t
        t = time.perf_counter()
        n = index.rebuild(docs)
        build = time.perf_counter() - t
        size = sum(f.stat().st_size for f in (Path(tmp) / "idx").rglob("*") if f.is_file())
        print(f"build: open {t_open:.2f}s, rebuild {n} docs in {build:.1f}s = {n / build:,.0f} docs/s, "
              f"index on disk {size / 1e6:.1f} MB")

        queries = make_queries(args.queries, args.seed, docs)
        for _k, q in queries[:50]:  # warm-up
            index.search(q)

        by_kind: dict[str, list[float]] = {}
        all_ms: list[float] = []
        zero = 0
        t0 = time.perf_counter()
        for kind, q in queries:
            t = time.perf_counter()
            r = index.search(q)
            ms = (time.perf_counter() - t) * 1000
            zero += r.total == 0
            all_ms.append(ms)
            by_kind.setdefault(kind, []).append(ms)
        wall = time.perf_counter() - t0
        print(f"\nsearch, 1 thread (facets computed on every query; {zero} queries had no hit):")
        print(f"  all            {fmt(all_ms)}   QPS={len(queries) / wall:,.0f}")
        for kind, ms in sorted(by_kind.items()):
            print(f"  {kind:14s} {fmt(ms)}")

        # Same mix from several threads (searches only), plus one writer upserting meanwhile.
        lat: list[float] = []
        lock = threading.Lock()
        stop = threading.Event()
        rnd = random.Random(args.seed)

        def reader(part: list[tuple[str, SearchQuery]]) -> None:
            mine = []
            for _k, q in part:
                t = time.perf_counter()
                index.search(q)
                mine.append((time.perf_counter() - t) * 1000)
            with lock:
                lat.extend(mine)

        upserts = 0

        def writer() -> None:
            nonlocal upserts
            while not stop.is_set():
                d = rnd.choice(docs)
                d.price_fen += 1
                index.upsert([d])
                upserts += 1
                time.sleep(0.05)

        parts = [queries[i :: args.threads] for i in range(args.threads)]
        threads = [threading.Thread(target=reader, args=(p,)) for p in parts]
        w = threading.Thread(target=writer)
        t0 = time.perf_counter()
        w.start()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        stop.set()
        w.join()
        print(f"\nsearch, {args.threads} threads + 1 writer meanwhile ({upserts} upserts, one commit each):")
        print(f"  all            {fmt(lat)}   QPS={len(lat) / wall:,.0f}")

        prefixes = ["b", "ba", "ban", "banl", "bl", "blg", "l", "lh", "lhq", "板", "板蓝", "布", "布洛",
                    "感", "感冒", "x", "xue", "xy", "阿", "amo", "wei", "维生", "连花", "lianhua", "g", "gm"]
        s_ms: list[float] = []
        for _ in range(max(1, 1000 // len(prefixes))):
            for p in prefixes:
                t = time.perf_counter()
                index.suggest(p)
                s_ms.append((time.perf_counter() - t) * 1000)
        print(f"\nsuggest, 1 thread: {fmt(s_ms)}")
        print(f"  e.g. suggest('banl')={index.suggest('banl', 5)} suggest('blg')={index.suggest('blg', 5)} "
              f"suggest('板蓝')={index.suggest('板蓝', 5)}")
        sample = index.search(SearchQuery(text="退烧", limit=5))
        print(f"  e.g. search('退烧') total={sample.total} facets(drug_class)={sample.facets['drug_class']}")
        index.close()


if __name__ == "__main__":
    main()
