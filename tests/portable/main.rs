//! The integration tests that run on every platform: the built binary in a temporary
//! home, its platform's own keychain, and the Salesforce stand-in on loopback.
//!
//! Where each runs: natively on Linux (the kernel keyring, keyutils), and on macOS (a
//! throwaway keychain) and Windows (Credential Manager) only in the forge's workflow
//! (.github/workflows/ci.yml); here, on Linux, also the Windows build under wine, when
//! `SFCRED_TEST_WINE_EXE` names it (scripts/test builds it and sets that up).

#[path = "../common/run.rs"]
mod run;
mod support;

mod subset;
