//! Tests for the ops API (being written).
