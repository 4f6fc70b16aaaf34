//! Authentication: JWT issue/verify, bcrypt off the async workers, and the
//! `AuthUser` extractor that guards every protected route.

pub mod extractor;
pub mod jwt;
pub mod password;
pub mod sessions;

pub use extractor::{AuthUser, SessionId, UserStatusCache};
pub use jwt::JwtKeys;
