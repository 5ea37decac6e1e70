//! Identity: passwords, second factors, sessions and the sign-in pages.

pub mod operator;
mod operator_tenants;
pub mod pages;
pub mod password;
pub mod session;
pub mod session_store;
pub mod sms_factor;
pub mod sso;
pub mod stepup;
pub mod totp;
