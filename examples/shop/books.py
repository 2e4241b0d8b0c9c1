#!/usr/bin/env python3
"""The books check of load.sh: reads the three services' SQLite files (read-only) and the
orders the load generators saw accepted, and checks that every order is either confirmed with
exactly one charge (captured) and one reservation (shipped), or cancelled with neither in
effect; that no charge or reservation exists without an order; that nothing is lost or doubled.

The accepted orders come two ways. wrk's script writes each one it saw answered 200
(`accepted-*`: "<order_id> confirmed|cancelled"). oha reports only counts, so each oha run
leaves `oha-<run>`: "<order id prefix> <answered 200> <idempotent replays> <not answered 200>",
the replays read from the orders service's metrics; its distinct accepted orders are the
answered ones less the replays, and each must have a saga.

Usage: books.py <data dir> <accepted dir> <initial stock of the sku>
Prints the problems it finds, then one line: "books: N orders C confirmed K compensated
lost L doubled D pending P", and exits 1 when anything is wrong."""

import glob
import json
import sqlite3
import sys


def table(path, sql):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def main():
    data, accepted_dir, initial_stock = sys.argv[1], sys.argv[2], int(sys.argv[3])
    problems = []
    lost = doubled = 0

    sagas = {}
    for order_id, status, state in table(
        f"{data}/orders.db", "SELECT id, status, state FROM catga_sagas WHERE saga = 'place_order'"
    ):
        sagas[order_id] = (status, json.loads(state))
    view = dict(table(f"{data}/orders.db", "SELECT order_id, status FROM order_view"))
    charges = {}
    for order_id, amount, status in table(
        f"{data}/payments.db", "SELECT order_id, amount_cents, status FROM charges"
    ):
        charges.setdefault(order_id, []).append((amount, status))
    reservations = {}
    for order_id, sku, quantity, status in table(
        f"{data}/inventory.db", "SELECT order_id, sku, quantity, status FROM reservations"
    ):
        reservations.setdefault(order_id, []).append((sku, quantity, status))
    (available,) = table(f"{data}/inventory.db", "SELECT available FROM stock WHERE sku = 'book'")[0]
    (undelivered,) = table(
        f"{data}/orders.db", "SELECT COUNT(*) FROM catga_outbox WHERE delivered_at_ms IS NULL"
    )[0]

    accepted = {}
    for path in glob.glob(f"{accepted_dir}/accepted-*"):
        with open(path) as lines:
            for line in lines:
                order_id, outcome = line.split()
                if order_id in accepted:
                    doubled += 1
                    problems.append(f"order {order_id} accepted twice")
                accepted[order_id] = outcome
    open_loop_accepted = 0
    for path in glob.glob(f"{accepted_dir}/oha-*"):
        with open(path) as file:
            prefix, answered, replays, unanswered = file.read().split()
        distinct = int(answered) - int(replays)
        placed = sum(1 for order_id in sagas if order_id.startswith(prefix))
        open_loop_accepted += distinct
        if placed < distinct:
            lost += distinct - placed
            problems.append(
                f"{prefix}*: {answered} answered less {replays} replays, but {placed} sagas"
            )
        elif placed > distinct + int(unanswered):
            doubled += placed - distinct - int(unanswered)
            problems.append(
                f"{prefix}*: {placed} sagas for {distinct} orders accepted "
                f"and {unanswered} requests not answered 200"
            )

    for order_id, outcome in accepted.items():
        if order_id not in sagas:
            lost += 1
            problems.append(f"accepted order {order_id} has no saga")
        elif (outcome == "confirmed") != (sagas[order_id][0] == "completed"):
            problems.append(f"order {order_id} answered {outcome}, saga {sagas[order_id][0]}")

    confirmed = compensated = pending = 0
    for order_id, (status, state) in sagas.items():
        charge = charges.get(order_id, [])
        reservation = reservations.get(order_id, [])
        if len(charge) > 1 or len(reservation) > 1:
            doubled += 1
            problems.append(f"order {order_id}: {len(charge)} charges, {len(reservation)} reservations")
        if status == "completed":
            confirmed += 1
            if [status for _, status in charge] != ["captured"]:
                lost += 1
                problems.append(f"confirmed order {order_id}: charges {charge}")
            elif charge[0][0] != state["amount_cents"]:
                problems.append(f"confirmed order {order_id} charged {charge[0][0]}, not {state['amount_cents']}")
            if [status for _, _, status in reservation] != ["shipped"]:
                lost += 1
                problems.append(f"confirmed order {order_id}: reservations {reservation}")
            if view.get(order_id) != "confirmed":
                lost += 1
                problems.append(f"confirmed order {order_id} is {view.get(order_id)} in the view")
        elif status == "compensated":
            compensated += 1
            if any(status != "refunded" for _, status in charge):
                problems.append(f"compensated order {order_id} still charged: {charge}")
            if any(status != "released" for _, _, status in reservation):
                problems.append(f"compensated order {order_id} still reserved: {reservation}")
            if view.get(order_id) != "cancelled":
                lost += 1
                problems.append(f"compensated order {order_id} is {view.get(order_id)} in the view")
        else:
            pending += 1
            problems.append(f"order {order_id} is {status}")

    for order_id in charges.keys() - sagas.keys():
        problems.append(f"a charge without an order: {order_id} {charges[order_id]}")
    for order_id in reservations.keys() - sagas.keys():
        problems.append(f"a reservation without an order: {order_id} {reservations[order_id]}")
    taken = sum(
        quantity
        for rows in reservations.values()
        for sku, quantity, status in rows
        if sku == "book" and status in ("reserved", "shipped")
    )
    if available != initial_stock - taken:
        doubled += 1
        problems.append(f"stock of book is {available}, reservations account for {initial_stock - taken}")
    if undelivered:
        lost += undelivered
        problems.append(f"{undelivered} order events still in the outbox")

    for problem in problems[:20]:
        print(f"books: {problem}")
    if len(problems) > 20:
        print(f"books: ... and {len(problems) - 20} more")
    print(
        f"books: {len(sagas)} orders {confirmed} confirmed {compensated} compensated "
        f"lost {lost} doubled {doubled} pending {pending} "
        f"accepted {len(accepted) + open_loop_accepted} problems {len(problems)}"
    )
    sys.exit(1 if problems else 0)


main()
