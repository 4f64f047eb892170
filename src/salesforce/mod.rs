//! Salesforce's side: the JWT assertion, the token and revoke endpoints, what an access
//! token says of itself, an External Client App's metadata files, and the Salesforce CLI's
//! stored logins.

pub mod access_token;
pub mod assertion;
pub mod eca;
pub mod exchange;
pub mod sf_cli;
