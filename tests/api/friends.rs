//! Tests for the friends API (being written).
