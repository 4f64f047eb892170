//! Salesforce's side: the JWT assertion, the token and revoke endpoints, an External Client
//! App's metadata files, and the Salesforce CLI's stored logins.

pub mod assertion;
pub mod eca;
pub mod exchange;
pub mod sf_cli;
