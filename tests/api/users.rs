//! Tests for the users API (being written).
