"""Free shipping as the storefront shows it: the threshold in force comes from the settings and the running
free-shipping promotions (never a number written into the front end), and a cart learns how far it is from it."""

from medreach.core.settings import get_settings
from medreach.promotions.engine import Item, Policy, PricingInput, Rule, price


def preview(client, headers, otc_id: int, quantity: int) -> dict:
    r = client.post("/api/v1/checkout/preview", headers=headers,
                    json={"items": [{"product_id": otc_id, "quantity": quantity}]})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_engine_says_the_threshold_in_force_and_the_gap():
    small = Item(1, "创可贴", 500, 3, ("device_firstaid",), "邦迪", "device")
    policy = Policy(shipping_fen=800, free_shipping_from_fen=9900)
    b = price(PricingInput(items=(small,), policy=policy))
    assert (b.shipping_fen, b.free_shipping_from_fen, b.free_shipping_gap_fen) == (800, 9900, 9900 - 1500)
    rule = Rule(7, "满20包邮", "free_shipping", {"threshold_fen": 2000})
    b = price(PricingInput(items=(small,), rules=(rule,), policy=policy))
    assert (b.shipping_fen, b.free_shipping_from_fen, b.free_shipping_gap_fen) == (800, 2000, 500)
    b = price(PricingInput(items=(small,), rules=(Rule(8, "满15包邮", "free_shipping", {"threshold_fen": 1500}),),
                           policy=policy))
    assert (b.shipping_fen, b.free_shipping_from_fen, b.free_shipping_gap_fen) == (0, 1500, 0)


def test_the_advertised_threshold_follows_the_running_promotion(client, shop, publish, customer):
    _, headers, _ = customer
    default = get_settings().free_shipping_from_fen
    terms = client.get("/api/v1/shipping").json()  # public: the home page shows it to everyone
    assert terms == {"shipping_fen": get_settings().shipping_fen, "free_shipping_from_fen": default,
                     "promotion_name": None}
    assert preview(client, headers, shop["otc"], 3)["breakdown"]["free_shipping_from_fen"] == default

    promo = publish("free_shipping", {"threshold_fen": 5900})
    assert client.get("/api/v1/shipping").json() == {"shipping_fen": get_settings().shipping_fen,
                                                     "free_shipping_from_fen": 5900, "promotion_name": promo["name"]}
    close = preview(client, headers, shop["otc"], 3)  # 3 x 15.00 = 45.00: ¥14 short
    assert close["shipping_fen"] == get_settings().shipping_fen
    assert (close["breakdown"]["free_shipping_from_fen"], close["breakdown"]["free_shipping_gap_fen"]) == (5900, 1400)
    free = preview(client, headers, shop["otc"], 4)
    assert free["shipping_fen"] == 0 and free["breakdown"]["free_shipping_gap_fen"] == 0
    cart = client.post("/api/v1/cart/items", headers=headers, json={"product_id": shop["otc"], "quantity": 3})
    assert cart.status_code in (200, 201), cart.text
    shown = client.get("/api/v1/cart", headers=headers).json()["breakdown"]
    assert (shown["free_shipping_from_fen"], shown["free_shipping_gap_fen"]) == (5900, 1400)


def test_the_default_threshold_is_the_running_setting(client, monkeypatch):
    monkeypatch.setenv("MEDREACH_FREE_SHIPPING_FROM_FEN", "3900")
    get_settings.cache_clear()
    try:
        assert client.get("/api/v1/shipping").json()["free_shipping_from_fen"] == 3900
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
