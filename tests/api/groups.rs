//! Tests for the groups API (being written).
