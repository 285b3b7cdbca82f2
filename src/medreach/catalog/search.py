"""Product search for the MedReach catalog, on tantivy (the Rust engine, via its official bindings).

Chinese text is segmented in Python with jieba and indexed as pre-split, space-joined tokens into
fields that use tantivy's ``whitespace`` tokenizer (tantivy-py can only register analyzers built
from tantivy's own tokenizers, not a Python callback). Queries are segmented the same way and
built from tantivy ``Query`` objects directly; ``Index.parse_query`` is never used, so user input
has no query syntax.

Fields per product (``*_w`` = jieba words, ``*_bg`` = character bigrams in sequence so a phrase
query over consecutive bigrams is an exact substring match, ``*_ug`` = character unigrams):

* generic name: ``name_w``, ``name_bg``, ``name_ug``, ``name_exact``; pinyin ``py`` (tone-less
  syllables; each jieba sub-word, and the name from every syllable to its end, joined) and
  initials ``ini`` (the same with first letters); pinyin queries are prefix term queries on them;
* brand: ``brand_w``, ``brand_bg``, ``brand_ug``, ``py_b``, ``ini_b``;
* tags, indications and manufacturer: ``tags_w``/``tags_bg``, ``ind_w``/``ind_bg``,
  ``mfr_w``/``mfr_bg``, and ``any_ug`` for their single characters;
* filters and facets (raw, fast): ``cat`` (every level of the category path), ``cls``, ``brand``,
  ``mfr``; numeric fast fields ``price``, ``sales``, ``created``, ``tb``;
* ``sg``/``sgb``: suggestion keys ``<name | pinyin | initials>\\x01<display name>``, read back
  with ``Searcher.terms_with_prefix``.

Scoring: every field clause is a constant-score query; per query word the clauses are combined
with a dis-max (best field wins, small tie-breaker), so the field order name > brand > tags >
indications > manufacturer holds whatever the term statistics are. Words are ANDed. Sales
break ties through ``weight_by_field='tb'``: ``tb`` is a tiny monotone function of sales, so the
multiplier ``log2(2 + tb)`` stays below 1.0008 and cannot reorder different score levels.

Facet counts come from one tantivy ``terms`` aggregation per search over the full filtered
result set (``Searcher.aggregate``).

Writes open a tantivy writer per operation and drop it after the commit, so several processes
can share one index folder (each waits for the directory lock); readers follow other processes'
commits through tantivy's ``OnCommit`` reload policy.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jieba
import tantivy
from pypinyin import Style, lazy_pinyin
from tantivy import Document, FieldType, Index, Occur, Order, Query, SchemaBuilder

__all__ = ["DRUG_CLASSES", "SORTS", "SearchDoc", "SearchIndex", "SearchQuery", "SearchResult"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_META_FILE = "medreach_search.json"
_USERDICT_FILE = "medreach_userdict.txt"

SORTS = ("relevance", "price_asc", "price_desc", "sales", "newest")
DRUG_CLASSES = ("rx", "otc_a", "otc_b", "device", "health_food", "other")
FACET_FIELDS = {"category": "cat", "drug_class": "cls", "brand": "brand", "manufacturer": "mfr"}
FACET_SIZE = 200  # values returned per facet (top by count); counts are exact for those
MAX_WINDOW = 10_000  # offset + limit cap: hits past it are counted but never returned
MAX_QUERY_CHARS = 64  # longer query text is cut (bounds the size of the query tree)
WRITER_HEAP = 96_000_000
WRITER_LOCK_WAIT = 10.0  # seconds to wait for another process's writer to finish
FUZZY_MIN_LEN = 4  # latin queries shorter than this are never fuzzed (distance 1 is too loose)

# Constant scores per field (dis-max per query word: the best field wins).
B_NAME_W, B_NAME_G = 10.0, 8.0
B_PY, B_PY_PREFIX, B_INI, B_INI_PREFIX = 10.0, 9.0, 8.5, 8.0
B_BRAND_W, B_BRAND_G, B_PYB, B_INIB = 6.0, 5.0, 5.5, 5.0
B_TAGS_W, B_TAGS_G = 4.0, 3.0
B_IND_W, B_IND_G = 2.0, 1.5
B_MFR_W, B_MFR_G = 1.0, 0.5
B_ANY_UG = 0.5
B_EXACT = 5.0  # whole query equals the generic name (added on top)
SYN_FACTOR = 0.9  # a synonym scores a little below the word the user typed
STEM_FACTOR = 0.95  # 感冒 for the query word 感冒药
_GENERIC_SUFFIXES = ("药品", "药物", "药")
TIE_BREAKER = 0.1
TB_SCALE = 0.001  # tb = TB_SCALE * log1p(sales) / log1p(1e9)  ->  weight <= log2(2.001)


# --------------------------------------------------------------------------------------------
# Public data types


@dataclass
class SearchDoc:
    """What the catalog gives the index for one product."""

    id: int
    generic_name: str
    brand_name: str
    manufacturer: str
    indications: str
    tags: list[str]
    category_code: str
    category_path: list[str]
    drug_class: str
    price_fen: int
    sales: int
    created_ts: int


@dataclass
class SearchQuery:
    text: str = ""
    category: str | None = None
    drug_classes: Sequence[str] | None = None
    price_min: int | None = None
    price_max: int | None = None
    brand: str | None = None
    manufacturer: str | None = None
    sort: str = "relevance"
    limit: int = 20
    offset: int = 0


@dataclass
class SearchResult:
    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    corrected: str | None = None


# --------------------------------------------------------------------------------------------
# Text analysis (pure Python, shared by indexing and querying)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(r"[^\W_]+")  # letters, digits, CJK; no punctuation, spaces or '_'
_CJK_RUN_RE = re.compile(f"[{_CJK}]+")
_UNIT_RE = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_LATIN_RE = re.compile(r"[a-z]+")
_ALNUM_RE = re.compile(r"[0-9a-z]+")
_SEP = "|"  # a position-holding token between runs in bigram fields

_base_jieba: jieba.Tokenizer | None = None
_base_lock = threading.Lock()
jieba.setLogLevel(logging.WARNING)


def _new_jieba() -> jieba.Tokenizer:
    """A private jieba tokenizer (the dictionary is loaded once per process, then copied), so the
    words an index adds never leak into other users of jieba in the process."""
    global _base_jieba
    with _base_lock:
        if _base_jieba is None:
            tk = jieba.Tokenizer()
            tk.initialize()
            _base_jieba = tk
        base = _base_jieba
        tk = jieba.Tokenizer()
        tk.FREQ = dict(base.FREQ)
        tk.total = base.total
        tk.initialized = True
    return tk


def normalize(text: str) -> str:
    """NFKC (full-width -> half-width) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower().strip()


def _is_cjk(ch: str) -> bool:
    return bool(_CJK_RUN_RE.match(ch))


def _bigrams(text: str) -> list[str]:
    """Character bigrams of each run, runs separated by a position-holding token."""
    out: list[str] = []
    for run in _RUN_RE.findall(text):
        if out:
            out.append(_SEP)
        if len(run) == 1:
            out.append(_SEP)  # keeps positions aligned; a lone char has no bigram
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _unigrams(text: str) -> list[str]:
    return [ch for run in _RUN_RE.findall(text) for ch in run]


def _units(text: str) -> list[tuple[str, str]]:
    """(surface, pinyin) units of a name: one per Chinese character, one per latin/digit run."""
    units: list[tuple[str, str]] = []
    for m in _UNIT_RE.finditer(text):
        run = m.group(0)
        if _is_cjk(run[0]):
            pys = lazy_pinyin(run, style=Style.NORMAL, errors="default")
            if len(pys) != len(run):
                pys = [lazy_pinyin(ch, style=Style.NORMAL, errors="default")[0] for ch in run]
            for ch, py in zip(run, pys, strict=True):
                py = "".join(_ALNUM_RE.findall(normalize(py))) or ch
                units.append((ch, py))
        else:
            units.append((run, normalize(run)))
    return units


def _initial(unit: tuple[str, str]) -> str:
    """First letter of a Chinese character's pinyin; a latin/digit run stays whole (VC -> vc)."""
    surface, py = unit
    return py[0] if _is_cjk(surface[0]) else py


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


class _Analyzer:
    """jieba + pypinyin analysis bound to one index's jieba dictionary."""

    def __init__(self) -> None:
        self.jieba = _new_jieba()
        self.words: dict[str, None] = {}  # words this index added to its jieba dictionary

    def add_words(self, words: Iterable[str]) -> bool:
        changed = False
        for w in words:
            w = normalize(w)
            if len(w) < 2 or w in self.words or not _RUN_RE.fullmatch(w):
                continue
            self.words[w] = None
            self.jieba.add_word(w)
            changed = True
        return changed

    # ---- index side
    def words_of(self, text: str) -> list[str]:
        """jieba search-mode words (sub-words of long words included), punctuation dropped."""
        text = normalize(text)
        if not text:
            return []
        return [w for w in self.jieba.cut_for_search(text) if _RUN_RE.fullmatch(w)]

    def pinyin_of(self, text: str) -> tuple[list[str], list[str], str, str]:
        """(pinyin tokens, initials tokens, full pinyin, full initials) of a name."""
        text = normalize(text)
        units = _units(text)
        if not units:
            return [], [], "", ""
        # Map character offsets of the normalized text to unit indexes for jieba spans.
        starts: dict[int, int] = {}
        pos = 0
        for i, (surface, _) in enumerate(units):
            pos = text.index(surface, pos)
            starts[pos] = i
            pos += len(surface)
        ends = {}
        for off, i in starts.items():
            ends[off + len(units[i][0])] = i + 1
        spans = {(0, len(units))}
        for _w, s, e in self.jieba.tokenize(text, mode="search"):
            if s in starts and e in ends and ends[e] > starts[s]:
                spans.add((starts[s], ends[e]))
        # Every syllable-aligned suffix, so a prefix query can start at any character
        # ('yinqiao' finds VC银翘片, 'lgkl' finds 板蓝根颗粒).
        spans.update((i, len(units)) for i in range(len(units)))
        pys = [u[1] for u in units]
        inis = [_initial(u) for u in units]
        py_tokens = dict.fromkeys(pys)
        ini_tokens: dict[str, None] = {}
        for s, e in sorted(spans):
            py_tokens["".join(pys[s:e])] = None
            ini_tokens["".join(inis[s:e])] = None
        return list(py_tokens), list(ini_tokens), "".join(pys), "".join(inis)

    # ---- query side
    def query_words(self, text: str) -> list[str]:
        """jieba (accurate mode) words of a query; consecutive single characters that jieba could
        not group are merged back into one chunk, matched as a substring through the bigrams."""
        out: list[str] = []
        for run in _RUN_RE.findall(normalize(text)):
            pending = ""
            for w in self.jieba.cut(run, HMM=True):
                if not _RUN_RE.fullmatch(w):
                    continue
                if len(w) == 1 and _is_cjk(w):
                    pending += w
                    continue
                if pending:
                    out.append(pending)
                    pending = ""
                out.append(w)
            if pending:
                out.append(pending)
        return out


# --------------------------------------------------------------------------------------------
# The index


def _schema() -> tantivy.Schema:
    sb = SchemaBuilder()
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in (
        "name_w",
        "name_bg",
        "name_ug",
        "brand_w",
        "brand_bg",
        "brand_ug",
        "tags_w",
        "tags_bg",
        "ind_w",
        "ind_bg",
        "mfr_w",
        "mfr_bg",
        "any_ug",
        "py",
        "ini",
        "py_b",
        "ini_b",
    ):
        # Bigram fields need positions (phrase queries); the others only need doc ids.
        opt = "position" if name.endswith("_bg") else "basic"
        sb.add_text_field(name, tokenizer_name="whitespace", index_option=opt)
    sb.add_text_field("name_exact", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("name_s", stored=True, tokenizer_name="raw", index_option="basic")
    for name in ("cat", "cls", "brand", "mfr"):
        sb.add_text_field(name, stored=name in ("brand",), fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("sg", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("sgb", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("price", indexed=True, fast=True)
    sb.add_integer_field("sales", fast=True)
    sb.add_integer_field("created", fast=True)
    sb.add_float_field("tb", fast=True)
    return sb.build()


class SearchIndex:
    """Full-text product search over a tantivy index (on disk at ``path``, or in memory).

    Searches run concurrently from any number of threads; writes (``rebuild``/``upsert``/
    ``delete``) are serialized by a lock, committed, and the reader reloaded before they return,
    so a write is visible to every search that starts after it.
    """

    def __init__(self, path: Path | None, synonyms: dict[str, list[str]] | None = None):
        self._path = Path(path) if path is not None else None
        self._schema = _schema()
        self._an = _Analyzer()
        self._write_lock = threading.RLock()
        self._synonyms = self._build_synonyms(synonyms or {})
        self._an.add_words(self._synonyms)
        if self._path is None:
            self._index = Index(self._schema)
        else:
            self._index = self._open_dir(self._path)
        # Commits by other processes on the same folder are picked up by tantivy's watcher; our
        # own commits are reloaded explicitly so they are visible as soon as a write returns.
        self._index.config_reader("OnCommit")
        self._index.reload()

    # ---- setup
    @staticmethod
    def _build_synonyms(table: dict[str, list[str]]) -> dict[str, list[str]]:
        """Symmetric, transitive synonym groups: every member maps to all the others."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for key, alts in table.items():
            k = normalize(key)
            if not k:
                continue
            find(k)
            for alt in alts:
                a = normalize(alt)
                if a:
                    parent[find(a)] = find(k)
        groups: dict[str, list[str]] = {}
        for term in parent:
            groups.setdefault(find(term), []).append(term)
        return {t: [o for o in g if o != t] for g in groups.values() for t in g}

    def _open_dir(self, path: Path) -> Index:
        path.mkdir(parents=True, exist_ok=True)
        meta_file = path / _META_FILE
        meta = {}
        if meta_file.exists():
            meta = json.loads(meta_file.read_text("utf-8"))
        elif any(path.iterdir()):
            raise ValueError(f"{path} is not empty and is not a MedReach search index")
        if meta and meta.get("schema_version") != SCHEMA_VERSION:
            log.warning("search index %s has schema %s, recreating (needs a rebuild)", path, meta.get("schema_version"))
            for child in path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
            meta = {}
        if not meta:
            meta_file.write_text(json.dumps({"schema_version": SCHEMA_VERSION}), "utf-8")
        userdict = path / _USERDICT_FILE
        if userdict.exists():
            self._an.add_words(userdict.read_text("utf-8").split("\n"))
        return Index(self._schema, path=str(path), reuse=True)

    def _save_words(self) -> None:
        """Persist the words added to jieba (product names, brands, tags, synonyms), merged with
        those another process on the same folder may have saved, so a reopened index segments
        queries as its documents were segmented."""
        if self._path is None:
            return
        target = self._path / _USERDICT_FILE
        if target.exists():
            self._an.add_words(target.read_text("utf-8").split("\n"))
        tmp = self._path / f"{_USERDICT_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text("\n".join(self._an.words), "utf-8")
        tmp.replace(target)

    @contextmanager
    def _writing(self) -> Iterator[tantivy.IndexWriter]:
        """One writer per write operation: commit, let the merges it triggered finish, drop it
        (releasing the directory lock, so other processes on the same folder can write too) and
        reload the reader. Rolls back on error."""
        with self._write_lock:
            deadline = time.monotonic() + WRITER_LOCK_WAIT
            while True:
                try:
                    writer = self._index.writer(heap_size=WRITER_HEAP, num_threads=1)
                    break
                except ValueError as e:  # LockBusy: another process is writing
                    if "LockBusy" not in str(e) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # consumes and closes the writer
            self._index.reload()

    def close(self) -> None:
        """Nothing stays open between writes; kept for symmetry with other resources."""

    # ---- indexing
    @staticmethod
    def _vocabulary(d: SearchDoc) -> list[str]:
        return [d.generic_name, d.brand_name, *d.tags]

    def _document(self, d: SearchDoc, cache: dict[str, object]) -> Document:
        an = self._an

        def cached(kind: str, text: str, fn: Callable[[str], object]):
            key = kind + "\x00" + text
            v = cache.get(key)
            if v is None:
                v = cache[key] = fn(text)
            return v

        def text_fields(text: str) -> tuple[str, str, str]:
            n = normalize(text)
            return (" ".join(an.words_of(n)), " ".join(_bigrams(n)), " ".join(_unigrams(n)))

        name_w, name_bg, name_ug = cached("t", d.generic_name, text_fields)
        brand_w, brand_bg, brand_ug = cached("t", d.brand_name, text_fields)
        mfr_w, mfr_bg, mfr_ug = cached("t", d.manufacturer, text_fields)
        ind_w, ind_bg, ind_ug = cached("t", d.indications, text_fields)
        tags = [normalize(t) for t in d.tags if normalize(t)]
        tags_joined = " ".join(tags)
        tags_w, tags_bg, tags_ug = cached("t", tags_joined, text_fields)
        whole_tags = " ".join(t for t in tags if _RUN_RE.fullmatch(t))
        py, ini, py_full, ini_full = cached("p", d.generic_name, an.pinyin_of)
        py_b, ini_b, pyb_full, inib_full = cached("p", d.brand_name, an.pinyin_of)

        doc = Document()
        doc.add_integer("id", int(d.id))
        for fname, value in (
            ("name_w", name_w),
            ("name_bg", name_bg),
            ("name_ug", name_ug),
            ("brand_w", brand_w),
            ("brand_bg", brand_bg),
            ("brand_ug", brand_ug),
            ("tags_w", f"{tags_w} {whole_tags}".strip()),
            ("tags_bg", tags_bg),
            ("ind_w", ind_w),
            ("ind_bg", ind_bg),
            ("mfr_w", mfr_w),
            ("mfr_bg", mfr_bg),
            ("any_ug", " ".join(filter(None, (mfr_ug, ind_ug, tags_ug)))),
            ("py", " ".join(py)),
            ("ini", " ".join(ini)),
            ("py_b", " ".join(py_b)),
            ("ini_b", " ".join(ini_b)),
        ):
            if value:
                doc.add_text(fname, value)
        name_norm = normalize(d.generic_name)
        if name_norm:
            doc.add_text("name_exact", name_norm)
        doc.add_text("name_s", d.generic_name or "")
        cats = dict.fromkeys(c for c in [*d.category_path, d.category_code] if c)
        for c in cats:
            doc.add_text("cat", c)
        if d.drug_class:
            doc.add_text("cls", d.drug_class)
        if d.brand_name:
            doc.add_text("brand", d.brand_name)
        if d.manufacturer:
            doc.add_text("mfr", d.manufacturer)
        if d.generic_name:
            for key in dict.fromkeys((name_norm, py_full, ini_full)):
                if key:
                    doc.add_text("sg", f"{key}\x01{d.generic_name}")
        if d.brand_name:
            for key in dict.fromkeys((normalize(d.brand_name), pyb_full, inib_full)):
                if key:
                    doc.add_text("sgb", f"{key}\x01{d.brand_name}")
        doc.add_integer("price", int(d.price_fen))
        doc.add_integer("sales", int(d.sales))
        doc.add_integer("created", int(d.created_ts))
        doc.add_float("tb", TB_SCALE * math.log1p(max(0, d.sales)) / math.log1p(1e9))
        return doc

    def rebuild(self, docs: Iterable[SearchDoc], progress: Callable[[int], None] | None = None) -> int:
        """Replace the whole index with ``docs``; returns the number indexed. Searches keep
        seeing the previous contents until the final commit."""
        docs = list(docs)
        with self._write_lock:
            if self._an.add_words(w for d in docs for w in self._vocabulary(d)):
                self._save_words()
            with self._writing() as writer:
                writer.delete_all_documents()
                cache: dict[str, object] = {}
                for n, d in enumerate(docs, 1):
                    writer.add_document(self._document(d, cache))
                    if progress is not None and n % 1000 == 0:
                        progress(n)
            if progress is not None and len(docs) % 1000:
                progress(len(docs))
            return len(docs)

    def upsert(self, docs: Iterable[SearchDoc]) -> None:
        """Add products, or replace the ones whose id is already indexed (one commit)."""
        docs = list(docs)
        if not docs:
            return
        with self._write_lock:
            if self._an.add_words(w for d in docs for w in self._vocabulary(d)):
                self._save_words()
            with self._writing() as writer:
                cache: dict[str, object] = {}
                for d in docs:
                    writer.delete_documents_by_term("id", int(d.id))
                    writer.add_document(self._document(d, cache))

    def delete(self, ids: Iterable[int]) -> None:
        """Remove products by id (unknown ids are ignored)."""
        ids = [int(i) for i in ids]
        if not ids:
            return
        with self._writing() as writer:
            for i in ids:
                writer.delete_documents_by_term("id", i)

    # ---- query building
    def _cs(self, q: Query, score: float) -> Query:
        return Query.const_score_query(q, score)

    def _term(self, fname: str, value: str, score: float) -> Query:
        return self._cs(Query.term_query(self._schema, fname, value), score)

    def _substring(self, fname_bg: str, text: str, score: float) -> Query | None:
        """Exact substring match through the bigram field (len >= 2)."""
        grams = [text[i : i + 2] for i in range(len(text) - 1)]
        if not grams:
            return None
        if len(grams) == 1:
            return self._term(fname_bg, grams[0], score)
        q = Query.phrase_query(self._schema, fname_bg, list(enumerate(grams)))
        return self._cs(q, score)

    def _prefix(self, fname: str, text: str, score: float) -> Query:
        return self._cs(Query.fuzzy_term_query(self._schema, fname, text, 0, True, True), score)

    def _fuzzy(self, fname: str, text: str, score: float) -> Query:
        return self._cs(Query.fuzzy_term_query(self._schema, fname, text, 1, True, True), score)

    def _word_clauses(self, w: str, factor: float = 1.0) -> list[Query]:
        """Every way one query word (or one of its synonyms) can match a product."""
        f = factor
        out: list[Query] = [
            self._term("name_w", w, B_NAME_W * f),
            self._term("brand_w", w, B_BRAND_W * f),
            self._term("tags_w", w, B_TAGS_W * f),
            self._term("ind_w", w, B_IND_W * f),
            self._term("mfr_w", w, B_MFR_W * f),
        ]
        if len(w) == 1:
            out += [
                self._term("name_ug", w, B_NAME_G * f),
                self._term("brand_ug", w, B_BRAND_G * f),
                self._term("any_ug", w, B_ANY_UG * f),
            ]
        else:
            for fname, score in (
                ("name_bg", B_NAME_G),
                ("brand_bg", B_BRAND_G),
                ("tags_bg", B_TAGS_G),
                ("ind_bg", B_IND_G),
                ("mfr_bg", B_MFR_G),
            ):
                q = self._substring(fname, w, score * f)
                if q is not None:
                    out.append(q)
        if _LATIN_RE.fullmatch(w):
            out += self._pinyin_clauses(w)
        return out

    def _pinyin_clauses(self, s: str, fuzzy: bool = False) -> list[Query]:
        if fuzzy:
            return [
                self._fuzzy("py", s, B_PY_PREFIX),
                self._fuzzy("ini", s, B_INI_PREFIX),
                self._fuzzy("py_b", s, B_PYB),
                self._fuzzy("ini_b", s, B_INIB),
            ]
        return [
            self._term("py", s, B_PY),
            self._prefix("py", s, B_PY_PREFIX),
            self._term("ini", s, B_INI),
            self._prefix("ini", s, B_INI_PREFIX),
            self._prefix("py_b", s, B_PYB),
            self._prefix("ini_b", s, B_INIB),
        ]

    def _word_query(self, w: str) -> Query:
        """One query word: its own clauses, those of its synonyms, and for 'X药' ('medicine
        for X': 感冒药, 退烧药) those of X and X's synonyms, each a little lower."""
        terms = [(w, 1.0)]
        stem = next((w[: -len(sfx)] for sfx in _GENERIC_SUFFIXES if w.endswith(sfx)), "")
        if len(stem) >= 2 and w not in self._an.words:  # not a product or brand like 云南白药
            terms.append((stem, STEM_FACTOR))
        clauses: list[Query] = []
        for term, factor in terms:
            clauses += self._word_clauses(term, factor)
            for alt in self._synonyms.get(term, ()):
                for aw in [alt] if _RUN_RE.fullmatch(alt) else self._an.query_words(alt):
                    clauses += self._word_clauses(aw, factor * SYN_FACTOR)
        return Query.disjunction_max_query(clauses, TIE_BREAKER)

    def _filters(self, q: SearchQuery) -> list[Query]:
        s = self._schema
        out: list[Query] = []
        if q.category:
            out.append(Query.term_query(s, "cat", q.category))
        if q.drug_classes:
            out.append(Query.term_set_query(s, "cls", list(q.drug_classes)))
        if q.price_min is not None or q.price_max is not None:
            out.append(
                Query.range_query(
                    s,
                    "price",
                    FieldType.Integer,
                    None if q.price_min is None else int(q.price_min),
                    None if q.price_max is None else int(q.price_max),
                )
            )
        if q.brand:
            out.append(Query.term_query(s, "brand", q.brand))
        if q.manufacturer:
            out.append(Query.term_query(s, "mfr", q.manufacturer))
        return [self._cs(f, 0.0) for f in out]

    @staticmethod
    def _combine(
        must: Sequence[Query],
        should: Sequence[Query] = (),
        filters: Sequence[Query] = (),
        min_should: int | None = None,
    ) -> Query:
        clauses = [(Occur.Must, m) for m in must] + [(Occur.Must, f) for f in filters]
        clauses += [(Occur.Should, s) for s in should]
        if not clauses:
            return Query.all_query()
        return Query.boolean_query(clauses, min_should)

    def _text_query(self, text: str, filters: list[Query]) -> Query:
        words = self._an.query_words(text)
        word_qs = [self._word_query(w) for w in words]
        bonus: list[Query] = [self._term("name_exact", normalize(text), B_EXACT)]
        compact = "".join(_LATIN_RE.findall(text))
        if len(words) > 1 and _is_latin_query(text):
            # 'ban lan gen' as one pinyin word, or each word on its own
            joined = Query.disjunction_max_query(self._pinyin_clauses(compact), TIE_BREAKER)
            both = Query.boolean_query([(Occur.Must, w) for w in word_qs])
            return self._combine([Query.disjunction_max_query([both, joined])], bonus, filters)
        return self._combine(word_qs, bonus, filters)

    # ---- searching
    def search(self, q: SearchQuery) -> SearchResult:
        if q.sort not in SORTS:
            raise ValueError(f"unknown sort {q.sort!r}; expected one of {SORTS}")
        offset = max(0, int(q.offset))
        limit = max(0, min(int(q.limit), MAX_WINDOW - offset))  # no page beyond MAX_WINDOW
        text = normalize(q.text)[:MAX_QUERY_CHARS]
        filters = self._filters(q)
        searcher = self._index.searcher()
        corrected: str | None = None

        if not text or not _RUN_RE.search(text):
            query = self._combine([], (), filters)
            res = self._run(searcher, query, q.sort if q.sort != "relevance" else "sales", limit, offset)
        else:
            query = self._text_query(text, filters)
            res = self._run(searcher, query, q.sort, limit, offset)
            if res.count == 0:
                query, res, corrected = self._fallbacks(searcher, text, filters, q.sort, limit, offset, query, res)
        ids = [int(v) for v in searcher.fast_field_values("id", [a for _, a in res.hits]) if v is not None]
        facets = self._facets(searcher, query) if res.count else {k: {} for k in FACET_FIELDS}
        return SearchResult(ids=ids, total=res.count, facets=facets, corrected=corrected)

    @staticmethod
    def _run(searcher: tantivy.Searcher, query: Query, sort: str, limit: int, offset: int):
        kw: dict = {"limit": max(limit, 1), "offset": offset, "count": True}
        if sort == "relevance":
            kw["weight_by_field"] = "tb"
        elif sort == "price_asc":
            kw.update(order_by_field="price", order=Order.Asc)
        elif sort == "price_desc":
            kw.update(order_by_field="price", order=Order.Desc)
        elif sort == "sales":
            kw.update(order_by_field="sales", order=Order.Desc)
        elif sort == "newest":
            kw.update(order_by_field="created", order=Order.Desc)
        if offset >= MAX_WINDOW:
            kw["offset"] = 0
        res = searcher.search(query, **kw)
        count: int = res.count  # type: ignore[attr-defined]  # tantivy's stub omits SearchResult.count
        return _Res(count, [] if limit == 0 else res.hits)

    def _fallbacks(self, searcher, text, filters, sort, limit, offset, query, res):
        """Zero hits: (1) latin query -> fuzzy pinyin (distance 1, prefix); (2) a Chinese query
        -> homophones through its pinyin (板兰根 -> 板蓝根); (3) relax AND to 'all words but
        one'. (1) and (2) set ``corrected``."""
        compact = "".join(text.split())
        if _is_latin_query(text):
            compact = "".join(_LATIN_RE.findall(text))
            if len(compact) >= FUZZY_MIN_LEN:
                fq = self._combine(
                    [Query.disjunction_max_query(self._pinyin_clauses(compact, fuzzy=True), TIE_BREAKER)], (), filters
                )
                r = self._run(searcher, fq, sort, limit, offset)
                if r.count:
                    return fq, r, self._correction(searcher, fq, compact)
        elif _CJK_RUN_RE.fullmatch(compact) and len(compact) >= 2:
            py = "".join(p for _, p in _units(compact))
            pq = self._combine(
                [
                    Query.disjunction_max_query(
                        [
                            self._term("py", py, B_PY),
                            self._prefix("py", py, B_PY_PREFIX),
                            self._prefix("py_b", py, B_PYB),
                        ],
                        TIE_BREAKER,
                    )
                ],
                (),
                filters,
            )
            r = self._run(searcher, pq, sort, limit, offset)
            if r.count:
                return pq, r, self._correction(searcher, pq, py)
        words = self._an.query_words(text)
        if len(words) > 1:
            word_qs = [self._word_query(w) for w in words]
            relaxed = self._combine([], word_qs, filters, min_should=max(1, len(words) - 1))
            r = self._run(searcher, relaxed, sort, limit, offset)
            if r.count:
                return relaxed, r, None
        return query, res, None

    def _correction(self, searcher: tantivy.Searcher, query: Query, typed: str) -> str | None:
        """The part of the best hit's name (or brand) whose pinyin / initials is closest to what
        was typed, e.g. 'banlangn' -> '板蓝根'."""
        top = searcher.search(query, 1, count=False, weight_by_field="tb").hits
        if not top:
            return None
        doc = searcher.doc(top[0][1])
        best: tuple[int, int, str] | None = None
        for name in (doc.get_first("name_s"), doc.get_first("brand")):
            units = _units(normalize(name or ""))
            n = len(units)
            for i in range(n):
                for j in range(i + 1, min(n, i + 12) + 1):
                    surface = "".join(u[0] for u in units[i:j])
                    for key in ("".join(u[1] for u in units[i:j]), "".join(_initial(u) for u in units[i:j])):
                        cand = (_edit_distance(typed, key), abs(len(key) - len(typed)), surface)
                        if best is None or cand[:2] < best[:2]:
                            best = cand
        return best[2] if best is not None else None

    def _facets(self, searcher: tantivy.Searcher, query: Query) -> dict[str, dict[str, int]]:
        aggs = {
            key: {"terms": {"field": fname, "size": FACET_SIZE, "segment_size": FACET_SIZE * 5}}
            for key, fname in FACET_FIELDS.items()
        }
        out = searcher.aggregate(query, aggs)
        return {
            key: {str(b["key"]): int(b["doc_count"]) for b in out.get(key, {}).get("buckets", [])}
            for key in FACET_FIELDS
        }

    # ---- suggestions
    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Product names (then brands) completing a Chinese prefix, a pinyin prefix ('banl') or
        an initials prefix ('blg'); the names with the most live products come first."""
        p = normalize(prefix)
        if not p or limit <= 0:
            return []
        p = "".join(_LATIN_RE.findall(p)) if _is_latin_query(p) else "".join(p.split())
        searcher = self._index.searcher()
        alive = Query.all_query()  # counts only live documents (no deleted ones)
        out: dict[str, None] = {}
        for fname in ("sg", "sgb"):
            terms = searcher.terms_with_prefix(fname, p, filter_query=alive, limit=limit * 4)
            for term, count in terms:
                if count <= 0:
                    continue
                out.setdefault(term.split("\x01", 1)[1], None)
                if len(out) >= limit:
                    return list(out)
        return list(out)

    # ---- introspection
    @property
    def num_docs(self) -> int:
        return self._index.searcher().num_docs


@dataclass
class _Res:
    count: int
    hits: list


def _is_latin_query(text: str) -> bool:
    """Only latin letters (and spaces / digits): treated as pinyin."""
    return bool(_LATIN_RE.search(text)) and not _CJK_RUN_RE.search(text)
