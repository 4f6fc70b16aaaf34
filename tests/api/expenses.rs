//! Tests for the expenses API (being written).
