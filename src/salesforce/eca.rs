//! An External Client App for a profile, as a Salesforce DX source-format project: the
//! metadata Salesforce's JWT bearer flow needs, generated from the profile's certificate.
//! Pure: names, scopes and XML text in, files out.
//!
//! Types, fields, folders and suffixes follow Salesforce's Metadata API reference:
//! - `ExternalClientApplication`, `.eca` in `externalClientApps/`
//!   (developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_externalclientapplication.htm)
//! - `ExtlClntAppOauthSettings`, `.ecaOauth` in `extlClntAppOauthSettings/` (…/meta_extlclntappoauthsettings.htm)
//! - `ExtlClntAppGlobalOauthSettings`, `.ecaGlblOauth` in `extlClntAppGlobalOauthSets/`
//!   (…/meta_extlclntappglobaloauthsettings.htm): its `certificate` (API 60.0+) "enables the JWT
//!   Bearer flow"
//! - `ExtlClntAppOauthConfigurablePolicies`, `.ecaOauthPlcy` in `extlClntAppOauthPolicies/`
//!   (…/meta_extlclntappoauthconfigurablepolicies.htm): `permittedUsersPolicyType`
//!   `AdminApprovedPreAuthorized`
//! - `ExtlClntAppConfigurablePolicies`, `.ecaPlcy` in `extlClntAppPolicies/`
//!   (…/meta_extlclntappconfigurablepolicies.htm): the OAuth plugin enabled

use std::path::PathBuf;

/// The Metadata API version the project is written for (the certificate field needs 60.0).
pub const API_VERSION: &str = "62.0";
/// The version JWT-based tokens' session timeout type and longer timeouts need.
pub const JWT_TOKENS_API_VERSION: &str = "65.0";

/// The timeouts `namedUserJwtTimeout` takes, in minutes (60 and up since API 65.0).
pub const JWT_TIMEOUTS: [u32; 11] = [1, 5, 10, 15, 30, 60, 90, 120, 240, 480, 720];

/// How long the app's JWT-based access tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtTokens {
    /// As long as the user's session (`namedUserJwtSessionTimeoutType` `UserSession`).
    UserSession,
    /// This many minutes (`Custom`), one of [`JWT_TIMEOUTS`].
    Minutes(u32),
}

/// What the app is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct EcaSpec {
    /// The API name (fullName): letters, digits and single underscores.
    pub name: String,
    pub contact_email: String,
    /// Metadata scope names, e.g. `Api`.
    pub scopes: Vec<String>,
    pub certificate_pem: String,
    /// JWT-based access tokens (which say when they expire), if the app issues them.
    pub jwt_tokens: Option<JwtTokens>,
}

impl EcaSpec {
    /// The Metadata API version the app's files need.
    pub fn api_version(&self) -> &'static str {
        match self.jwt_tokens {
            Some(_) => JWT_TOKENS_API_VERSION,
            None => API_VERSION,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EcaError {
    #[error("JWT-based tokens cannot live {given}: Salesforce offers {}", shown_timeouts())]
    JwtTimeout { given: String },
    #[error(
        "JWT-based tokens that live {given} would have every call mint: sfcred serves a token only while \
         it has {} left",
        crate::config::profile::format_duration(crate::token::DEFAULT_MIN_VALID)
    )]
    JwtTimeoutTooShort { given: String },
    #[error("{name:?} is not an API name: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error("unknown OAuth scope {scope:?}")]
    UnknownScope { scope: String },
    #[error("{email:?} is not an email address: {reason}")]
    BadEmail { email: String, reason: &'static str },
    #[error("the package directory {path:?} is outside the project")]
    OutsideProject { path: String },
}

impl EcaError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            EcaError::JwtTimeout { .. } => "give --jwt-timeout one of those, like 30m or 2h".into(),
            EcaError::JwtTimeoutTooShort { .. } => {
                format!("give --jwt-timeout one of {}, like 30m or 2h", shown_timeouts())
            }
            EcaError::BadName { .. } => {
                "use letters, digits and single underscores, starting with a letter, e.g. Sfcred_Prod".into()
            }
            EcaError::UnknownScope { .. } => {
                format!("use some of: {}", SCOPES.map(|(flag, _)| flag).join(", "))
            }
            EcaError::BadEmail { .. } => {
                "give the address Salesforce writes to about the app, e.g. --contact-email ops@acme.com".into()
            }
            EcaError::OutsideProject { .. } => {
                "use a package directory inside the project (a relative path without ..), or write the app to \
                 another folder with --out"
                    .into()
            }
        })
    }
}

/// The timeouts Salesforce offers that outlive the time sfcred keeps in hand: a token that
/// lives no longer than that is stale the moment it is minted.
fn usable_timeouts() -> impl Iterator<Item = std::time::Duration> {
    JWT_TIMEOUTS
        .into_iter()
        .map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60))
        .filter(|timeout| *timeout > crate::token::DEFAULT_MIN_VALID)
}

/// The shortest timeout Salesforce offers that outlives `min_valid`, if any.
pub fn jwt_timeout_longer_than(min_valid: std::time::Duration) -> Option<std::time::Duration> {
    usable_timeouts().find(|timeout| *timeout > min_valid)
}

fn shown_timeouts() -> String {
    usable_timeouts().map(crate::config::profile::format_duration).collect::<Vec<_>>().join(", ")
}

/// `--jwt-timeout`: one of the timeouts Salesforce offers that leaves a token some use.
pub fn jwt_timeout(duration: std::time::Duration) -> Result<JwtTokens, EcaError> {
    let given = || crate::config::profile::format_duration(duration);
    if usable_timeouts().any(|timeout| timeout == duration) {
        return Ok(JwtTokens::Minutes(u32::try_from(duration.as_secs() / 60).expect("one of Salesforce's")));
    }
    match duration <= crate::token::DEFAULT_MIN_VALID {
        true => Err(EcaError::JwtTimeoutTooShort { given: given() }),
        false => Err(EcaError::JwtTimeout { given: given() }),
    }
}

/// OAuth scopes as users write them, and as the metadata names them.
const SCOPES: [(&str, &str); 9] = [
    ("api", "Api"),
    ("web", "Web"),
    ("full", "Full"),
    ("id", "Basic"),
    ("openid", "OpenID"),
    ("refresh_token", "RefreshToken"),
    ("chatter_api", "Chatter"),
    ("cdp_api", "CDPProfile"),
    ("sfap_api", "SFAP"),
];

/// The metadata names of `scopes` (`api,refresh_token`); `api` is always among them.
pub fn scopes(text: &str) -> Result<Vec<String>, EcaError> {
    let mut names = vec!["Api".to_owned()];
    for scope in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (_, name) = SCOPES
            .iter()
            .find(|(flag, name)| flag.eq_ignore_ascii_case(scope) || name.eq_ignore_ascii_case(scope))
            .ok_or_else(|| EcaError::UnknownScope { scope: scope.to_owned() })?;
        if !names.iter().any(|n| n == name) {
            names.push((*name).to_owned());
        }
    }
    Ok(names)
}

/// An API name, as Salesforce takes it for a component's fullName.
pub fn validate_name(name: &str) -> Result<(), EcaError> {
    let bad = |reason| Err(EcaError::BadName { name: name.to_owned(), reason });
    if name.is_empty() || name.len() > 80 {
        return bad("it must be 1 to 80 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("it must start with a letter");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("only letters, digits and underscores are allowed");
    }
    if name.contains("__") || name.ends_with('_') {
        return bad("no double underscores, and no underscore at the end");
    }
    Ok(())
}

/// An address Salesforce will take as a contact email: one `@`, a local part and a domain
/// with a dot, and nothing that is not printable (what XML must escape, `&`, is escaped).
pub fn validate_email(email: &str) -> Result<(), EcaError> {
    let bad = |reason| Err(EcaError::BadEmail { email: crate::base::diag::printable(email, 80), reason });
    if email.is_empty() || email.len() > 254 {
        return bad("it must be 1 to 254 characters");
    }
    if email.chars().any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '"')) {
        return bad("no spaces, control characters or <>\"");
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => bad("it must be NAME@DOMAIN, with a dot in the domain"),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn document(root: &str, fields: &[(&str, String)]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n"
    );
    for (field, value) in fields {
        xml.push_str(&format!("    <{field}>{}</{field}>\n", escape(value)));
    }
    xml.push_str(&format!("</{root}>\n"));
    xml
}

/// The app's files, relative to a package directory's `main/default`.
pub fn files(spec: &EcaSpec) -> Vec<(PathBuf, String)> {
    let name = &spec.name;
    let app = || ("externalClientApplication", name.clone());
    let label = || ("label", name.clone());
    let file = |folder: &str, suffix: &str| PathBuf::from(folder).join(format!("{name}.{suffix}-meta.xml"));
    vec![
        (
            file("externalClientApps", "eca"),
            document(
                "ExternalClientApplication",
                &[
                    ("contactEmail", spec.contact_email.clone()),
                    ("description", "JWT bearer logins through sfcred".into()),
                    ("distributionState", "Local".into()),
                    ("isProtected", "false".into()),
                    label(),
                ],
            ),
        ),
        (
            file("extlClntAppOauthSettings", "ecaOauth"),
            document(
                "ExtlClntAppOauthSettings",
                &[("commaSeparatedOauthScopes", spec.scopes.join(", ")), app(), label()],
            ),
        ),
        (
            file("extlClntAppGlobalOauthSets", "ecaGlblOauth"),
            document(
                "ExtlClntAppGlobalOauthSettings",
                &[
                    // The JWT bearer flow uses no callback; the field is required all the same.
                    ("callbackUrl", "http://localhost/".into()),
                    ("certificate", spec.certificate_pem.trim().to_owned()),
                    app(),
                    ("isConsumerSecretOptional", "false".into()),
                    ("isIntrospectAllTokens", "false".into()),
                    ("isNamedUserJwtEnabled", spec.jwt_tokens.is_some().to_string()),
                    ("isPkceRequired", "true".into()),
                    ("isSecretRequiredForRefreshToken", "true".into()),
                    label(),
                ],
            ),
        ),
        (
            file("extlClntAppOauthPolicies", "ecaOauthPlcy"),
            document("ExtlClntAppOauthConfigurablePolicies", &{
                let mut fields = vec![app(), ("ipRelaxationPolicyType", "Enforce".into()), label()];
                match spec.jwt_tokens {
                    None => {}
                    Some(JwtTokens::UserSession) => {
                        fields.push(("namedUserJwtSessionTimeoutType", "UserSession".into()))
                    }
                    Some(JwtTokens::Minutes(minutes)) => fields.extend([
                        ("namedUserJwtSessionTimeoutType", "Custom".into()),
                        ("namedUserJwtTimeout", minutes.to_string()),
                    ]),
                }
                fields.push(("permittedUsersPolicyType", "AdminApprovedPreAuthorized".into()));
                fields
            }),
        ),
        (
            file("extlClntAppPolicies", "ecaPlcy"),
            document(
                "ExtlClntAppConfigurablePolicies",
                &[app(), ("isEnabled", "true".into()), ("isOauthPluginEnabled", "true".into()), label()],
            ),
        ),
    ]
}

/// A new project's `sfdx-project.json`, with `force-app` as its package directory.
pub fn sfdx_project_json(name: &str, api_version: &str) -> String {
    let project = serde_json::json!({
        "packageDirectories": [{ "path": "force-app", "default": true }],
        "name": name,
        "namespace": "",
        "sourceApiVersion": api_version,
    });
    format!("{}\n", serde_json::to_string_pretty(&project).expect("a project serializes"))
}

/// Whether an existing project's `sourceApiVersion` is older than `needed` (one it does not
/// name is the CLI's own, new enough).
pub fn older_api_version(project_json: &str, needed: &str) -> Option<String> {
    let project: serde_json::Value = serde_json::from_str(project_json).ok()?;
    let version = project["sourceApiVersion"].as_str()?;
    let number = |v: &str| v.parse::<f64>().ok();
    (number(version)? < number(needed)?).then(|| version.to_owned())
}

/// The default package directory an existing `sfdx-project.json` names, if it names one. A
/// path that leaves the project (absolute, or climbing with `..`) is refused.
pub fn default_package_directory(project_json: &str) -> Result<Option<String>, EcaError> {
    let Ok(project) = serde_json::from_str::<serde_json::Value>(project_json) else { return Ok(None) };
    let Some(directories) = project["packageDirectories"].as_array() else { return Ok(None) };
    let Some(default) = directories.iter().find(|d| d["default"] == true).or(directories.first()) else {
        return Ok(None);
    };
    let Some(path) = default["path"].as_str() else { return Ok(None) };
    let inside = std::path::Path::new(path)
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_) | std::path::Component::CurDir));
    match inside && !path.is_empty() {
        true => Ok(Some(path.to_owned())),
        false => Err(EcaError::OutsideProject { path: crate::base::diag::printable(path, 120) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_map_to_metadata_names_with_api_always_in() {
        assert_eq!(scopes("").unwrap(), ["Api"]);
        assert_eq!(scopes("refresh_token, api,Web").unwrap(), ["Api", "RefreshToken", "Web"]);
        assert!(matches!(scopes("api,telepathy"), Err(EcaError::UnknownScope { .. })));
    }

    #[test]
    fn names_follow_salesforce_rules() {
        assert!(validate_name("Sfcred_Prod2").is_ok());
        for bad in ["", "2fa", "a b", "a__b", "trailing_", "é", &"a".repeat(81)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_files_pin_their_xml() {
        let spec = EcaSpec {
            name: "Sfcred_Prod".into(),
            contact_email: "ops@acme.com".into(),
            scopes: vec!["Api".into(), "RefreshToken".into()],
            certificate_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            jwt_tokens: None,
        };
        let files = files(&spec);
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "externalClientApps/Sfcred_Prod.eca-meta.xml",
                "extlClntAppOauthSettings/Sfcred_Prod.ecaOauth-meta.xml",
                "extlClntAppGlobalOauthSets/Sfcred_Prod.ecaGlblOauth-meta.xml",
                "extlClntAppOauthPolicies/Sfcred_Prod.ecaOauthPlcy-meta.xml",
                "extlClntAppPolicies/Sfcred_Prod.ecaPlcy-meta.xml",
            ]
        );
        assert_eq!(
            files[1].1,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ExtlClntAppOauthSettings xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    \
             <commaSeparatedOauthScopes>Api, RefreshToken</commaSeparatedOauthScopes>\n    \
             <externalClientApplication>Sfcred_Prod</externalClientApplication>\n    <label>Sfcred_Prod</label>\n\
             </ExtlClntAppOauthSettings>\n"
        );
        assert!(files[2].1.contains(
            "<certificate>-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----</certificate>"
        ));
        assert!(
            files[3]
                .1
                .contains("<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>")
        );
    }

    #[test]
    fn jwt_tokens_take_salesforce_s_timeouts_only() {
        let minutes = |m: u64| jwt_timeout(std::time::Duration::from_secs(m * 60));
        assert_eq!(minutes(30), Ok(JwtTokens::Minutes(30)));
        assert_eq!(minutes(720), Ok(JwtTokens::Minutes(720)));
        let refused = minutes(45).unwrap_err().to_string();
        assert_eq!(
            refused,
            "JWT-based tokens cannot live 45m: Salesforce offers 5m, 10m, 15m, 30m, 1h, 1h 30m, 2h, 4h, 8h, 12h"
                .replace("1h 30m", "1h30m")
        );
        for too_short in [1, 0] {
            assert!(
                matches!(minutes(too_short), Err(EcaError::JwtTimeoutTooShort { .. })),
                "{too_short}m: no longer than the minute sfcred keeps in hand"
            );
        }
        assert!(jwt_timeout(std::time::Duration::from_secs(90)).is_err(), "whole minutes only");
        let spec = EcaSpec {
            name: "A".into(),
            contact_email: "a@b.c".into(),
            scopes: vec!["Api".into()],
            certificate_pem: String::new(),
            jwt_tokens: Some(JwtTokens::Minutes(120)),
        };
        let files = files(&spec);
        assert!(files[2].1.contains("<isNamedUserJwtEnabled>true</isNamedUserJwtEnabled>"));
        assert!(files[3].1.contains(
            "<label>A</label>\n    <namedUserJwtSessionTimeoutType>Custom</namedUserJwtSessionTimeoutType>\n    \
             <namedUserJwtTimeout>120</namedUserJwtTimeout>\n    <permittedUsersPolicyType>"
        ));
        assert_eq!(spec.api_version(), "65.0");
        assert_eq!(older_api_version(r#"{"sourceApiVersion":"62.0"}"#, "65.0").as_deref(), Some("62.0"));
        assert_eq!(older_api_version(r#"{"sourceApiVersion":"66.0"}"#, "65.0"), None);
    }

    #[test]
    fn an_existing_project_keeps_its_package_directory() {
        let json = r#"{"packageDirectories":[{"path":"other"},{"path":"src","default":true}]}"#;
        assert_eq!(default_package_directory(json).unwrap().as_deref(), Some("src"));
        assert_eq!(
            default_package_directory(&sfdx_project_json("x", API_VERSION)).unwrap().as_deref(),
            Some("force-app")
        );
        for outside in ["/etc", "../elsewhere", "src/../../up", ""] {
            let json =
                serde_json::json!({"packageDirectories": [{"path": outside, "default": true}]}).to_string();
            assert!(default_package_directory(&json).is_err(), "{outside}");
        }
    }

    #[test]
    fn every_file_is_well_formed_xml_that_says_what_it_was_given() {
        let spec = EcaSpec {
            name: "Sfcred_Prod".into(),
            contact_email: "o'brien&co+sfcred@acme.com".into(),
            scopes: vec!["Api".into()],
            certificate_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            jwt_tokens: Some(JwtTokens::Minutes(30)),
        };
        assert!(validate_email(&spec.contact_email).is_ok());
        for (path, text) in files(&spec) {
            let document =
                roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let root = document.root_element();
            assert_eq!(root.tag_name().namespace(), Some("http://soap.sforce.com/2006/04/metadata"));
            if let Some(email) = root.children().find(|n| n.has_tag_name("contactEmail")) {
                assert_eq!(email.text(), Some("o'brien&co+sfcred@acme.com"));
            }
        }
        let project = sfdx_project_json("x", API_VERSION);
        assert!(serde_json::from_str::<serde_json::Value>(&project).is_ok());
    }

    #[test]
    fn contact_emails_are_checked() {
        assert!(validate_email("ops@acme.com").is_ok());
        for bad in [
            "",
            "not an email",
            "ops@acme",
            "@acme.com",
            "ops@@acme.com",
            "ops\u{1}@acme.com",
            "o<p>s@acme.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
    }
}
