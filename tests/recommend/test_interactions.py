"""Reading interaction and item attribute files: ids kept as written, weights added up, times parsed."""

import numpy as np
import pytest

from medreach.core.errors import AppError
from medreach.recommend.interactions import Interactions, read_interactions, read_item_attributes, read_pairs


def write(tmp_path, text, name="train.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def pairs_of(data: Interactions) -> dict[tuple[str, str], float]:
    matrix = data.matrix.tocoo()
    return {
        (data.user_ids[u], data.item_ids[i]): float(w)
        for u, i, w in zip(matrix.row, matrix.col, matrix.data, strict=True)
    }


def test_ids_are_strings_kept_exactly_and_repeated_pairs_add_weight(tmp_path):
    path = write(tmp_path, "user_id,item_id,weight\n001,NA,2\n1,NA,\n001,NA,3\n001,null,1\n,x,1\n1,,1\n")
    data = read_interactions(path)
    # 001 and 1 are different users; NA and null are ids, not missing values; a blank weight is 1
    assert pairs_of(data) == {("001", "NA"): 5.0, ("1", "NA"): 1.0, ("001", "null"): 1.0}
    assert data.timestamps is None
    assert sorted(data.user_ids) == ["001", "1"]


def test_items_are_indexed_by_popularity_then_id(tmp_path):
    path = write(tmp_path, "user_id,item_id\na,z\nb,z\na,m\nc,b\nc,z\nd,b\n")
    assert read_interactions(path).item_ids.tolist() == ["z", "b", "m"]


def test_timestamps_as_epoch_seconds_or_iso_dates(tmp_path):
    seconds = read_interactions(write(tmp_path, "user_id,item_id,timestamp\na,x,1700000000\nb,x,1700000060.5\n"))
    assert seconds.timestamps.tolist() == [1700000000.0, 1700000060.5]
    iso = "user_id,item_id,timestamp\na,x,2026-01-01T00:00:00Z\nb,x,2026-01-01 08:00:00+08:00\nc,y,2026-01-02\n"
    dates = read_interactions(write(tmp_path, iso, "iso.csv"))
    assert dates.timestamps.tolist() == [1767225600.0, 1767225600.0, 1767312000.0]
    blank = read_interactions(write(tmp_path, "user_id,item_id,timestamp\na,x,\nb,y,\n", "blank.csv"))
    assert blank.timestamps is None


def test_extra_columns_quotes_a_bom_and_crlf(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes('\ufeffitem_id,extra,user_id\r\n"a,b",1,"u 1"\r\nc,2,u2\r\n'.encode())
    data = read_interactions(path)
    assert pairs_of(data) == {("u 1", "a,b"): 1.0, ("u2", "c"): 1.0}
    assert read_pairs(path) == (["u 1", "u2"], ["a,b", "c"])


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("user,item_id\na,x\n", "train", "has no user_id column"),
        ("user_id,item_id,weight\na,x,heavy\n", "weight", "weight must be a number"),
        ("user_id,item_id,weight\na,x,-1\n", "weight", "weights must be finite numbers >= 0"),
        ("user_id,item_id,timestamp\na,x,1\nb,x,\n", "timestamp", "1 rows have no timestamp"),
        ("user_id,item_id,timestamp\na,x,yesterday\n", "timestamp", "epoch seconds or ISO 8601"),
        ("user_id,item_id\n", "train", "has no interactions"),
        ("", "train", "is empty"),
    ],
)
def test_bad_files_are_refused_with_the_field_named(tmp_path, text, field, reason):
    with pytest.raises(AppError, match="IMPORT_UNREADABLE") as error:
        read_interactions(write(tmp_path, text))
    assert error.value.field == field
    assert reason in error.value.params["reason"]


def test_zero_weights_mark_an_item_seen_without_weighing_it():
    data = Interactions.from_ids(["a", "a", "b"], ["x", "y", "x"], weights=[0, 2, 1])
    assert data.seen.toarray().tolist() == [[1, 1], [1, 0]]
    assert data.matrix.nnz == 2  # a-x has no weight


def test_split_takes_the_latest_events_or_a_seeded_sample():
    data = Interactions.from_ids(list("abcdefghij"), ["x"] * 10, timestamps=np.arange(10.0)[::-1])
    earlier, later = data.split(0.3)
    assert sorted(data.user_ids[later.users]) == ["a", "b", "c"]  # the three latest events
    assert len(earlier.users) == 7 and earlier.n_items == data.n_items
    untimed = Interactions.from_ids(list("abcdefghij") * 10, ["x"] * 100)
    first, second = untimed.split(0.3, seed=1), untimed.split(0.3, seed=1)
    assert np.array_equal(first[1].users, second[1].users) and 10 < len(first[1].users) < 50


def test_item_attributes_keep_strings_and_need_an_attribute(tmp_path):
    attributes = read_item_attributes(write(tmp_path, "item_id,indication,ingredient\nP1,fever,paracetamol|caffeine\n"))
    assert attributes.loc["P1"].to_dict() == {"indication": "fever", "ingredient": "paracetamol|caffeine"}
    with pytest.raises(AppError, match="IMPORT_UNREADABLE") as error:
        read_item_attributes(write(tmp_path, "item_id\nP1\n", "items.csv"))
    assert error.value.field == "items"
