"""The order state machine, exhaustively: every allowed move succeeds, every other one is refused."""

import itertools

import pytest

from medreach.core.errors import AppError
from medreach.orders import state


def test_transition_table_is_closed():
    assert set(state.TRANSITIONS) == set(state.STATUSES)
    for targets in state.TRANSITIONS.values():
        assert targets <= set(state.STATUSES)
    assert state.TRANSITIONS[state.CANCELLED] == state.TRANSITIONS[state.REFUNDED] == frozenset()


@pytest.mark.parametrize("src,dst", list(itertools.product(state.STATUSES, state.STATUSES)))
def test_every_pair(db, customer_order, src, dst):
    order, session = customer_order(src)
    if dst in state.TRANSITIONS[src]:
        state.transition(session, order, dst, actor_id=None, reason="test")
        session.commit()
        assert order.status == dst and order.history[-1].from_status == src
    else:
        with pytest.raises(AppError, match=r"^ORDER_STATE_CONFLICT$") as e:
            state.transition(session, order, dst, actor_id=None)
        assert e.value.status == 409 and e.value.params.get("current") == src


def test_a_stale_copy_cannot_move_the_order(db, customer_order):
    order, session = customer_order(state.AWAITING_PAYMENT)
    with db.session() as other:
        from medreach.orders.models import Order

        stale = other.get(Order, order.id)
        state.transition(session, order, state.CANCELLED, actor_id=None)
        session.commit()
        with pytest.raises(AppError, match=r"^ORDER_STATE_CONFLICT$") as e:
            state.transition(other, stale, state.PAID, actor_id=None)  # it still believes awaiting_payment
        assert e.value.params == {"current": "changed", "to": state.PAID}


@pytest.fixture
def customer_order(db):
    """An order row in a given status (no lines), for exercising the state machine directly."""
    from medreach.accounts.models import User
    from medreach.orders.models import Order

    sessions = []

    def make(status: str):
        s = db.sessions()
        sessions.append(s)
        user = User(email=f"sm-{len(sessions)}@example.com", password_hash="x")
        s.add(user)
        s.flush()
        order = Order(number=f"SM{len(sessions):06d}{status[:6]}", user_id=user.id, idempotency_key=f"k{len(sessions)}",
                      request_hash="h", status=status, subtotal_fen=100, total_fen=100, address="{}")
        s.add(order)
        s.commit()
        return order, s

    yield make
    for s in sessions:
        s.close()
