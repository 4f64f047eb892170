//! The Kubernetes client-go exec credential format (`sfcred token --format
//! exec-credential`), for tools that speak it. The request comes in the
//! `KUBERNETES_EXEC_INFO` environment variable; the answer repeats its apiVersion.

use secrecy::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};

use crate::token::{Token, rfc3339};

pub const API_V1: &str = "client.authentication.k8s.io/v1";
pub const API_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExecInfoError {
    #[error("KUBERNETES_EXEC_INFO is not valid JSON: {0}")]
    NotJson(String),
    #[error("KUBERNETES_EXEC_INFO asks for apiVersion {0:?}; sfcred answers {API_V1} and {API_V1BETA1}")]
    ApiVersion(String),
    #[error("KUBERNETES_EXEC_INFO has kind {0:?}, not ExecCredential")]
    Kind(String),
}

/// What the caller's `KUBERNETES_EXEC_INFO` says (absent: v1, not interactive).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecInfo {
    pub api_version: &'static str,
    pub interactive: bool,
}

pub fn parse_exec_info(value: Option<&str>) -> Result<ExecInfo, ExecInfoError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Wire {
        api_version: String,
        kind: Option<String>,
        #[serde(default)]
        spec: Spec,
    }
    #[derive(Deserialize, Default)]
    struct Spec {
        #[serde(default)]
        interactive: bool,
    }
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(ExecInfo { api_version: API_V1, interactive: false });
    };
    let wire: Wire = serde_json::from_str(value).map_err(|e| ExecInfoError::NotJson(e.to_string()))?;
    let api_version = match wire.api_version.as_str() {
        API_V1 => API_V1,
        API_V1BETA1 => API_V1BETA1,
        _ => return Err(ExecInfoError::ApiVersion(wire.api_version)),
    };
    match wire.kind {
        Some(kind) if kind != "ExecCredential" => Err(ExecInfoError::Kind(kind)),
        _ => Ok(ExecInfo { api_version, interactive: wire.spec.interactive }),
    }
}

/// The ExecCredential object carrying the token and its expiry.
pub fn exec_credential(info: &ExecInfo, token: &Token) -> Zeroizing<String> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Credential<'a> {
        api_version: &'a str,
        kind: &'a str,
        status: Status<'a>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Status<'a> {
        token: &'a str,
        expiration_timestamp: String,
    }
    let credential = Credential {
        api_version: info.api_version,
        kind: "ExecCredential",
        status: Status { token: token.secret(), expiration_timestamp: rfc3339(token.expires_at) },
    };
    crate::token::secret_json(&credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_empty_info_means_v1() {
        for value in [None, Some(""), Some("  ")] {
            assert_eq!(parse_exec_info(value).unwrap(), ExecInfo { api_version: API_V1, interactive: false });
        }
    }

    #[test]
    fn the_callers_api_version_is_answered_in_kind() {
        let info = parse_exec_info(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}"#,
        ))
        .unwrap();
        assert_eq!(info, ExecInfo { api_version: API_V1BETA1, interactive: true });
    }

    #[test]
    fn unknown_versions_and_garbage_are_errors() {
        let err = parse_exec_info(Some(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#)).unwrap_err();
        assert!(err.to_string().contains("sfcred answers client.authentication.k8s.io/v1 and"), "{err}");
        assert!(matches!(parse_exec_info(Some("{")), Err(ExecInfoError::NotJson(_))));
        assert!(matches!(
            parse_exec_info(Some(r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"Pod"}"#)),
            Err(ExecInfoError::Kind(_))
        ));
    }
}
