//! A key's life: a rotation's state and its pure decisions ([`state`], low in the layers,
//! so that keychain and certificate code can name a key's slot), and the transaction that
//! every step of a key's life goes through ([`txn`], above minting).

pub mod state;
pub mod txn;
