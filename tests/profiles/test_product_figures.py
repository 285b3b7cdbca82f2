"""The lake's product figures (orders.lake_figures): the profile build counts, per product, the units of paid orders
that exist only as events and the reviews no database review is behind, so that the storefront's ratings count
the simulated world's reviews beside the database's approved ones, once each."""

import pyarrow as pa
import pyarrow.parquet as pq

from medreach.orders import lake_figures
from medreach.orders.lake_figures import Figures
from tests.profiles.lake_world import World, build, ts


def test_the_build_counts_what_only_the_lake_holds(tmp_path):
    w = World()
    w.user(1)
    w.db_order(1, "D1", ts("2026-06-01T02:00"), [(1, 2), (5, 1)])  # in the database (and its event): not counted
    w.sim_order("sim-2", "S1", ts("2026-06-02T02:00"), [(5, 3)])
    w.sim_order("sim-2", "S2", ts("2026-06-03T02:00"), [(5, 1), (7, 2)])
    w.sim_order("sim-2", "S3", ts("2026-06-04T02:00"), [(7, 5)])
    w.track("sim-2", "Order Refunded", ts("2026-06-05T02:00"), order_id="S3")  # given back: not sold
    w.track("sim-2", "Product Reviewed", ts("2026-06-06T02:00"), product_id=5, rating=4)
    w.track("sim-2", "Product Reviewed", ts("2026-06-07T02:00"), product_id=5, rating=2)
    w.track("sim-2", "Product Reviewed", ts("2026-06-07T03:00"), product_id=7, rating=5)
    w.track("1", "Product Reviewed", ts("2026-06-08T02:00"), product_id=5, rating=1, review_id=9)  # the database's
    w.track("sim-2", "Product Reviewed", ts("2026-06-08T03:00"), product_id=7, rating=9)  # not a rating
    lake_dir = build(w, tmp_path)
    assert lake_figures.read(lake_dir) == {
        5: Figures(sold=4, reviews=2, rating_sum=6),
        7: Figures(sold=2, reviews=1, rating_sum=5),
    }


def test_ratings_join_the_databases_and_the_lakes_reviews(tmp_path):
    assert lake_figures.read(tmp_path) == {}  # before any build
    lake = {5: Figures(sold=10, reviews=3, rating_sum=12), 7: Figures(sold=1)}
    db = {5: (9, 2), 6: (5, 1)}  # product 5: two approved reviews rating 9 in all
    assert lake_figures.with_ratings(db, lake, [5, 6, 7, 8]) == {5: (4.2, 5), 6: (5.0, 1)}


def test_the_reader_follows_the_file(tmp_path):
    folder = lake_figures.folder(tmp_path)
    folder.mkdir(parents=True)

    def write(reviews: int) -> None:
        table = pa.table({"product_id": [3], "sold": [1], "reviews": [reviews], "rating_sum": [reviews * 5]})
        pq.write_table(table.cast(lake_figures.SCHEMA), folder / "data.parquet")

    write(1)
    assert lake_figures.read(tmp_path)[3].reviews == 1
    write(22)  # a new build: read again, not the cached figures
    assert lake_figures.read(tmp_path)[3] == Figures(sold=1, reviews=22, rating_sum=110)
