"""The processed records contract (dataflow/processed.py): what reaches processed/ from each batch."""

from __future__ import annotations

import polars as pl

from dataflow.processed import SOURCE_LINE, processed_frame


def test_a_batch_keeps_its_records_with_the_files_extra_columns_by_line() -> None:
    raw = pl.DataFrame(
        {
            "Customer Id": ["A1", "B2", "C3"],
            "Email": ["a@x.io", "b@x.io", "bad"],
            "Loyalty Tier": ["gold", "silver", "bronze"],
            "__line__": [2, 3, 4],
        }
    )
    valid = pl.DataFrame({"customer_id": ["A1", "C3"], "email": ["a@x.io", "bad"], "__line__": [2, 4]})

    frame = processed_frame(raw=raw, valid=valid, extras=["Loyalty Tier"])

    assert frame.columns == ["customer_id", "email", SOURCE_LINE, "Loyalty Tier"]
    assert frame.rows() == [("A1", "a@x.io", 2, "gold"), ("C3", "bad", 4, "bronze")]


def test_extras_absent_from_a_batch_or_named_like_a_field_are_left_out() -> None:
    raw = pl.DataFrame({"customer_id": ["A1"], "contact.email": ["a@x.io"], "note": ["vip"], "__line__": [1]})
    valid = pl.DataFrame({"customer_id": ["A1"], "email": ["a@x.io"], "__line__": [1]})

    frame = processed_frame(raw=raw, valid=valid, extras=["note", "later.key", "email", "__line__"])

    assert frame.columns == ["customer_id", "email", SOURCE_LINE, "note"]
