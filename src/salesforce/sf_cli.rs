//! The Salesforce CLI's stored logins (`~/.sfdx/USERNAME.json`, and aliases in
//! `~/.sfdx/alias.json`), read to move a JWT login over to sfcred. Only the plain fields
//! are read: username, consumer key, login URL and the key file's path; the CLI's
//! encrypted fields (the access token) are left alone.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A login file is a few KiB.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What sfcred takes from a Salesforce CLI login.
#[derive(Debug, Clone)]
pub struct SfLogin {
    pub alias: Option<String>,
    pub username: String,
    /// The consumer key.
    pub client_id: secrecy::SecretString,
    pub login_url: String,
    pub instance_url: Option<String>,
    pub key_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SfCliError {
    #[error("the Salesforce CLI has no login for {org:?} in {dir}")]
    Unknown { org: String, dir: PathBuf, known: Vec<String> },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the Salesforce CLI logged in to {org:?} {how}, not with a JWT key")]
    NotJwt { org: String, how: &'static str },
}

impl SfCliError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            SfCliError::Unknown { known, .. } if known.is_empty() => {
                "log in with the Salesforce CLI first (sf org login jwt), or log in with sfcred directly"
                    .into()
            }
            SfCliError::Unknown { known, .. } => format!("the CLI knows: {}", known.join(", ")),
            SfCliError::Unreadable { .. } => "check the file; sf org list shows the CLI's logins".into(),
            SfCliError::NotJwt { .. } => {
                "sfcred signs in with the JWT bearer flow only: make a key (sfcred keygen) and an app for it \
                 (sfcred eca), then sfcred login"
                    .into()
            }
        })
    }
}

#[derive(Deserialize)]
struct AuthFile {
    username: Option<String>,
    #[serde(rename = "clientId")]
    client_id: Option<String>,
    #[serde(rename = "loginUrl")]
    login_url: Option<String>,
    #[serde(rename = "instanceUrl")]
    instance_url: Option<String>,
    #[serde(rename = "privateKey")]
    private_key: Option<String>,
    #[serde(rename = "refreshToken")]
    refresh_token: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct Aliases {
    #[serde(default)]
    orgs: std::collections::BTreeMap<String, String>,
}

fn read(path: &Path) -> Result<Option<Vec<u8>>, SfCliError> {
    crate::stores::fs::read_regular(path, MAX_FILE_BYTES)
        .map_err(|e| SfCliError::Unreadable { path: path.to_owned(), reason: e.to_string() })
}

/// The login the CLI keeps for `org` (an alias or a username) in `sfdx_dir` (`~/.sfdx`).
pub fn find(sfdx_dir: &Path, org: &str) -> Result<SfLogin, SfCliError> {
    let aliases_path = sfdx_dir.join("alias.json");
    let aliases: Aliases = match read(&aliases_path)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| SfCliError::Unreadable { path: aliases_path.clone(), reason: e.to_string() })?,
        None => Aliases::default(),
    };
    let (alias, username) = match aliases.orgs.get(org) {
        Some(username) => (Some(org.to_owned()), username.clone()),
        None => (aliases.orgs.iter().find(|(_, u)| *u == org).map(|(a, _)| a.clone()), org.to_owned()),
    };
    let unknown = || {
        let mut known: Vec<String> = aliases.orgs.keys().cloned().collect();
        known.extend(usernames(sfdx_dir));
        known.sort();
        known.dedup();
        SfCliError::Unknown { org: org.to_owned(), dir: sfdx_dir.to_owned(), known }
    };
    if username.contains(['/', '\\']) || username.starts_with('.') {
        return Err(unknown());
    }
    let path = sfdx_dir.join(format!("{username}.json"));
    let bytes = read(&path)?.ok_or_else(unknown)?;
    parse(&bytes, alias, org).map_err(|reason| match reason {
        ParseFailure::NotJwt(how) => SfCliError::NotJwt { org: org.to_owned(), how },
        ParseFailure::Damaged(reason) => SfCliError::Unreadable { path, reason },
    })
}

enum ParseFailure {
    NotJwt(&'static str),
    Damaged(String),
}

/// Reads a login file; `alias` is what the user named the org by, if an alias.
fn parse(bytes: &[u8], alias: Option<String>, org: &str) -> Result<SfLogin, ParseFailure> {
    let file: AuthFile = serde_json::from_slice(bytes).map_err(|e| ParseFailure::Damaged(e.to_string()))?;
    let Some(key_file) = file.private_key.filter(|k| !k.is_empty()) else {
        return Err(ParseFailure::NotJwt(match file.refresh_token {
            Some(_) => "through a browser (web login, refresh token)",
            None => "with an access token",
        }));
    };
    let missing = |field: &str| ParseFailure::Damaged(format!("it has no {field}"));
    Ok(SfLogin {
        alias,
        username: file.username.unwrap_or_else(|| org.to_owned()),
        client_id: file.client_id.ok_or_else(|| missing("clientId"))?.into(),
        login_url: file.login_url.ok_or_else(|| missing("loginUrl"))?,
        instance_url: file.instance_url,
        key_file: PathBuf::from(key_file),
    })
}

/// The usernames the CLI has login files for.
fn usernames(sfdx_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(sfdx_dir) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(str::to_owned))
        .filter(|name| name.contains('@'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_login_gives_its_plain_fields() {
        let file = br#"{"accessToken":"a1b2:c3d4","clientId":"3MVG9CK","instanceUrl":"https://acme.my.salesforce.com",
            "loginUrl":"https://login.salesforce.com","orgId":"00D","privateKey":"/tmp/server.key","username":"u@acme.com"}"#;
        let login = match parse(file, Some("acme".into()), "acme") {
            Ok(login) => login,
            Err(_) => panic!("a JWT login parses"),
        };
        assert_eq!(login.username, "u@acme.com");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&login.client_id), "3MVG9CK");
        assert_eq!(login.key_file, PathBuf::from("/tmp/server.key"));
    }

    #[test]
    fn other_logins_are_named_for_what_they_are() {
        let web = br#"{"username":"u","clientId":"PlatformCLI","loginUrl":"https://login.salesforce.com","refreshToken":"x:y"}"#;
        assert!(matches!(parse(web, None, "u"), Err(ParseFailure::NotJwt(how)) if how.contains("browser")));
        assert!(matches!(parse(b"{", None, "u"), Err(ParseFailure::Damaged(_))));
    }
}
