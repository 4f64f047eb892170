//! `sfcred doctor`: a checklist of everything a profile needs, each check saying what
//! to do when it does not pass. Checks run in order; later ones that depend on an
//! earlier failure are skipped.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::base::diag::Progress;
use crate::config::context::Context;
use crate::config::profile::{LoginUrl, Profile, default_audience};
use crate::error::Error;
use crate::keys::certificate::{self, EXPIRY_WARNING};
use crate::keys::pkcs11::{Pkcs11Error, Pkcs11Key};
use crate::keys::pkcs11_uri::Pkcs11Uri;
use crate::keys::signer::{KeyOrigin, Signer, SoftwareKey};
use crate::stores::keychain::Keychain;
use crate::stores::settings::Settings;
use crate::token::rfc3339;

/// Clocks further apart than this make Salesforce see assertions as expired or early.
pub const CLOCK_TOLERANCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Written `ok`, in JSON as in the text report.
    #[serde(rename = "ok")]
    Pass,
    Warn,
    Fail,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Details and fixes quote user values: made printable, with URL credentials redacted.
fn check(name: &'static str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Check {
    let printable = |text: &str| crate::base::diag::printable_message(text);
    Check { name, status, detail: printable(&detail.into()), fix: fix.as_deref().map(printable) }
}

fn failed(name: &'static str, error: &Error) -> Check {
    check(name, Status::Fail, error.to_string(), error.hint())
}

#[derive(Debug)]
pub struct Options {
    pub profile: String,
    /// Skip the checks that use the network.
    pub offline: bool,
    pub json: bool,
}

pub fn run(ctx: &Context, options: Options) -> Result<super::Outcome, Error> {
    let checks = checks(ctx, &options.profile, options.offline);
    if options.json {
        super::print(&format!("{}\n", serde_json::to_string(&checks).expect("checks serialize")))?;
    } else {
        let color = crate::base::diag::use_color(std::io::stdout().is_terminal(), ctx.no_color);
        super::print(&render(&options.profile, &checks, color))?;
    }
    match checks.iter().any(|c| c.status == Status::Fail) {
        true => Ok(super::Outcome::ChecksFailed),
        false => Ok(super::Outcome::Done),
    }
}

/// Runs every check for `profile_name`; the slow (network) steps show progress on a terminal
/// while they run.
pub fn checks(ctx: &Context, profile_name: &str, offline: bool) -> Vec<Check> {
    if let Some(vars) = &ctx.environment_profile {
        return environment_checks(ctx, vars, offline);
    }
    let mut checks = Vec::new();
    let settings_dir = match ctx.config_dir() {
        Ok(dir) => dir,
        Err(e) => return vec![failed("settings", &e.into())],
    };
    let settings = match Settings::load(settings_dir) {
        Ok(settings) => settings,
        Err(e) => return vec![failed("settings", &e.into())],
    };
    let profile = match settings.profile(profile_name) {
        Ok(profile) => profile,
        Err(e) => return vec![failed("settings", &e.into())],
    };
    checks.push(check("settings", Status::Pass, format!("profile {profile_name:?} is set up"), None));

    let keychain = open_keychain(ctx, profile);
    let keychain = match keychain {
        Ok(keychain) => {
            let detail = format!("{}: a probe entry was written, read back and deleted", keychain.kind());
            checks.push(check("keychain", Status::Pass, detail, None));
            Some(keychain)
        }
        Err(e) => {
            checks.push(failed("keychain", &e));
            None
        }
    };

    let public_key = match &profile.pkcs11 {
        None => software_key_checks(&mut checks, keychain.as_ref(), profile),
        Some(uri) => token_checks(&mut checks, ctx, uri, keychain.as_ref(), profile),
    };
    let key = public_key.as_ref();
    if let Some(keychain) = &keychain {
        match keychain.read_client_id(&profile.name) {
            Ok(_) => checks.push(check("consumer key", Status::Pass, "present", None)),
            Err(e) if key.is_some() => checks.push(failed("consumer key", &e.into())),
            Err(_) => {}
        }
    }

    let now = SystemTime::now();
    checks.extend(rotation_check(settings_dir, profile));
    checks.extend(certificate_checks(settings_dir, profile, key.map(Vec::as_slice), now));
    checks.push(audience_check(&profile.login_url, &profile.audience));
    with_budget(online_checks(checks, ctx, profile, offline), ctx, profile)
}

/// The profile the environment gives (SFCRED_CLIENT_ID and the rest), which `token` uses
/// instead of any saved one: its key, then the same checks against Salesforce.
fn environment_checks(
    ctx: &Context,
    vars: &crate::config::context::EnvironmentProfile,
    offline: bool,
) -> Vec<Check> {
    let profile = match crate::config::env_profile::profile(vars) {
        Ok(profile) => profile,
        Err(e) => return vec![failed("settings", &e.into())],
    };
    let detail =
        "the environment's profile (SFCRED_CLIENT_ID is set: the settings file and --profile are not used)";
    let mut checks = vec![check("settings", Status::Pass, detail, None)];
    match &profile.pkcs11 {
        Some(uri) => drop(token_checks(&mut checks, ctx, uri, None, &profile)),
        // A key under 2048 bits is refused as it is read.
        None => match crate::config::env_profile::signer(vars) {
            Ok(key) => {
                checks.push(check("private key", Status::Pass, format!("RSA, from {}", key.location()), None))
            }
            Err(e) => checks.push(failed("private key", &e.into())),
        },
    }
    checks.push(check("consumer key", Status::Pass, "SFCRED_CLIENT_ID", None));
    checks.push(audience_check(&profile.login_url, &profile.audience));
    with_budget(online_checks(checks, ctx, &profile, offline), ctx, &profile)
}

/// The fleet's shared cache: reachable (TLS and authentication included), how fast, and
/// whether the fleet's token opens with this machine's key.
fn shared_cache_check(ctx: &Context, profile: &Profile) -> Option<Check> {
    use crate::stores::shared::{Held, Identity, Keys, Shared};
    let warn =
        |detail: String, fix: &str| Some(check("shared cache", Status::Warn, detail, Some(fix.into())));
    let relogin = format!(
        "check SFCRED_CACHE_URL and SFCRED_CACHE_KEY, or log in again: sfcred login --profile {} --cache-url \
         URL (rediss:// for TLS; the user the ACL gives); meanwhile this machine mints alone",
        profile.name
    );
    let config = match crate::credentials::shared_cache(ctx, profile) {
        Ok(config) => config?,
        Err(e) => return warn(e.to_string(), &relogin),
    };
    let mut shared = match Shared::connect(&config) {
        Ok(shared) => shared,
        Err(e) => return warn(e.to_string(), &relogin),
    };
    let rtt = match shared.ping() {
        Ok(rtt) => format!("{:.1} ms", rtt.as_secs_f64() * 1000.0),
        Err(e) => return warn(e.to_string(), &relogin),
    };
    let answers = format!("{} answers in {rtt}", shared.shown_url);
    let Ok(client_id) = crate::credentials::client_id(ctx, profile) else {
        return Some(check("shared cache", Status::Pass, answers, None));
    };
    let keys = Keys::of(&Identity {
        login_url: profile.login_url.as_str(),
        client_id: secrecy::ExposeSecret::expose_secret(&client_id),
        username: &profile.username,
        audience: &profile.audience,
    });
    match shared.held(&keys) {
        Ok(Held::Token(token)) => Some(check(
            "shared cache",
            Status::Pass,
            format!(
                "{answers}; the fleet's token opens (valid until {})",
                crate::token::rfc3339(token.expires_at)
            ),
            None,
        )),
        Ok(Held::Nothing) => {
            Some(check("shared cache", Status::Pass, format!("{answers}; no fleet token now"), None))
        }
        Ok(Held::Sealed) => warn(
            format!(
                "{answers}; the fleet's token does not open with this machine's fleet key (or is damaged)"
            ),
            "give every machine of the fleet the same fleet key (SFCRED_CACHE_KEY, or at login); meanwhile \
             this machine mints for itself",
        ),
        Err(e) => warn(e.to_string(), &relogin),
    }
}

/// The login budget, last: the live mint is in its count.
fn with_budget(mut checks: Vec<Check>, ctx: &Context, profile: &Profile) -> Vec<Check> {
    checks.extend(shared_cache_check(ctx, profile));
    use crate::stores::login_budget::{LOGIN_LIMIT, WARN_ABOVE, count};
    let Ok(cache_dir) = ctx.cache_dir() else { return checks };
    let logins = count(cache_dir, &profile.username, profile.login_url.as_str(), SystemTime::now());
    let detail = format!(
        "{logins} of the {LOGIN_LIMIT} logins Salesforce allows {} per hour, counted on this machine",
        profile.username
    );
    checks.push(match logins > WARN_ABOVE {
        false => check("login budget", Status::Pass, detail, None),
        true => check(
            "login budget",
            Status::Warn,
            detail,
            Some("look for a loop, or callers that mint apart instead of sharing the cache".into()),
        ),
    });
    checks
}

/// The checks that need Salesforce, skipped `offline`; the live mint only when the key's
/// checks leave a reason to expect it to work.
fn online_checks(mut checks: Vec<Check>, ctx: &Context, profile: &Profile, offline: bool) -> Vec<Check> {
    if offline {
        for name in ["login URL", "clock", "live mint"] {
            checks.push(check(name, Status::Skip, "--offline", None));
        }
        return checks;
    }
    let reaching = Progress::start(&format!("reaching {}", profile.login_url));
    checks.extend(network_checks(ctx, profile));
    drop(reaching);
    // A token counts wrong PINs and locks itself after a few: one refusal per run is enough.
    // One that did not answer would not answer the mint either.
    if checks.iter().any(|c| c.name == "PIN" && c.status == Status::Fail) {
        checks.push(check("live mint", Status::Skip, "the PIN was refused above: no second try", None));
        return checks;
    }
    if checks.iter().any(|c| c.name == "token" && c.status == Status::Fail) {
        checks.push(check("live mint", Status::Skip, "the token failed above", None));
        return checks;
    }
    let minting = Progress::start("minting a token");
    let minted = crate::rotation::txn::lock_profile(ctx, &profile.name)
        .and_then(|lock| crate::fetch::mint_locked(ctx, profile, &lock, &SystemTime::now, &mut false));
    drop(minting);
    checks.push(match minted {
        Ok(token) => check(
            "live mint",
            Status::Pass,
            format!("a token for {} at {}", token.username, token.instance_url),
            None,
        ),
        Err(e) => failed("live mint", &e),
    });
    checks
}

/// The profile's keychain, shown to work by writing, reading and deleting a probe.
fn open_keychain(ctx: &Context, profile: &Profile) -> Result<Keychain, Error> {
    let keychain = Keychain::open(ctx.store_for(profile.store)?, ctx.keychain_timeout()?)?;
    keychain.round_trip()?;
    Ok(keychain)
}

/// A rotation under way, or one whose old key is still a fallback.
fn rotation_check(settings_dir: &Path, profile: &Profile) -> Option<Check> {
    let name = &profile.name;
    let rotation = match crate::rotation::state::Rotation::load(settings_dir, name) {
        Ok(rotation) => rotation?,
        Err(e) => return Some(failed("key rotation", &e.into())),
    };
    if let Some(next) = &rotation.next {
        let since = next.started_at.to_time().map(rfc3339).unwrap_or_default();
        return Some(check(
            "key rotation",
            Status::Warn,
            format!("under way since {since}: Salesforce has not accepted the next key yet"),
            Some(format!(
                "upload the next key's certificate to the app, wait a few minutes, then sfcred rotate finish \
                 --profile {name} (sfcred rotate status --profile {name} shows where it stands)"
            )),
        ));
    }
    let until = rotation.previous.as_ref()?.until.to_time().map(rfc3339).unwrap_or_default();
    Some(check(
        "key rotation",
        Status::Pass,
        format!("done; the old key stays a fallback until {until}"),
        None,
    ))
}

/// The keychain's RSA key: there, and strong enough. Returns its public half.
fn software_key_checks(
    checks: &mut Vec<Check>,
    keychain: Option<&Keychain>,
    profile: &Profile,
) -> Option<Vec<u8>> {
    let Some(keychain) = keychain else {
        checks.push(check("private key", Status::Skip, "the keychain is not usable", None));
        return None;
    };
    match keychain.read_private_key(&profile.name) {
        Err(e) => {
            checks.push(failed("private key", &e.into()));
            None
        }
        Ok(key) if key.bits() < 2048 => {
            let fix =
                format!("make a stronger key: sfcred rotate start --profile {} --bits 3072", profile.name);
            checks.push(check(
                "private key",
                Status::Fail,
                format!("RSA, only {} bits", key.bits()),
                Some(fix),
            ));
            None
        }
        Ok(key) => {
            checks.push(check("private key", Status::Pass, format!("RSA, {} bits", key.bits()), None));
            SoftwareKey::new(key, KeyOrigin::Keychain(keychain.kind())).public_key().ok()
        }
    }
}

/// A key on a PKCS#11 token, step by step: the module loads, the token is there, the PIN
/// works, one RSA key that can sign is found, and it cannot be copied off the token.
/// Returns its public half.
fn token_checks(
    checks: &mut Vec<Check>,
    ctx: &Context,
    uri: &Pkcs11Uri,
    keychain: Option<&Keychain>,
    profile: &Profile,
) -> Option<Vec<u8>> {
    const STEPS: [&str; 5] = ["PKCS#11 module", "token", "PIN", "private key", "key protection"];
    let opened = crate::credentials::pkcs11_pin(ctx, uri, keychain, &profile.name).and_then(|pin| {
        let key = Pkcs11Key::open(uri, pin.as_ref().map(|(pin, _)| pin), ctx.keychain_timeout()?)?;
        Ok((key, pin.is_some()))
    });
    let (key, had_pin) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            let at = match &error {
                Error::Pkcs11(Pkcs11Error::Module { .. }) => 0,
                // The module loaded: what failed is the device behind it.
                Error::Pkcs11(
                    Pkcs11Error::NoToken { .. }
                    | Pkcs11Error::Removed { .. }
                    | Pkcs11Error::Initialize { .. }
                    | Pkcs11Error::TimedOut { .. },
                ) => 1,
                Error::Pkcs11(
                    Pkcs11Error::NoKey { .. }
                    | Pkcs11Error::SeveralKeys { .. }
                    | Pkcs11Error::Unusable { .. },
                ) => 3,
                Error::Pkcs11(Pkcs11Error::Failed { .. }) => 1,
                _ => 2,
            };
            for (i, name) in STEPS.into_iter().enumerate() {
                checks.push(match i.cmp(&at) {
                    std::cmp::Ordering::Less => check(name, Status::Pass, "yes", None),
                    std::cmp::Ordering::Equal => failed(name, &error),
                    std::cmp::Ordering::Greater => {
                        check(name, Status::Skip, format!("the {} check failed", STEPS[at]), None)
                    }
                });
            }
            return None;
        }
    };
    let module = uri.module_path.as_deref().map_or_else(String::new, |p| p.display().to_string());
    checks.push(check("PKCS#11 module", Status::Pass, format!("{module} loads"), None));
    checks.push(check("token", Status::Pass, "present", None));
    checks.push(check("PIN", Status::Pass, if had_pin { "accepted" } else { "none needed" }, None));
    let public_key = key.public_key().ok();
    checks.push(check(
        "private key",
        Status::Pass,
        format!("found once, RSA, can sign: {}", key.uri()),
        None,
    ));
    checks.push(match key.protection() {
        Ok(p) if !p.extractable && p.sensitive => check(
            "key protection",
            Status::Pass,
            "cannot be copied off the token (sensitive, not extractable)",
            None,
        ),
        Ok(p) => check(
            "key protection",
            Status::Warn,
            format!(
                "this key can be copied (CKA_EXTRACTABLE {}, CKA_SENSITIVE {})",
                p.extractable, p.sensitive
            ),
            Some(format!(
                "make a key that cannot leave the token: sfcred keygen --profile {} --pkcs11 URI",
                profile.name
            )),
        ),
        Err(e) => failed("key protection", &e.into()),
    });
    public_key
}

/// The checklist for a person: one line per check, its fix below it.
pub fn render(profile: &str, checks: &[Check], color: bool) -> String {
    let mut out = format!("sfcred doctor: profile {profile:?}\n");
    for check in checks {
        let (label, code) = match check.status {
            Status::Pass => ("ok  ", "32"),
            Status::Warn => ("warn", "33"),
            Status::Fail => ("FAIL", "31"),
            Status::Skip => ("skip", "2"),
        };
        let label = if color { format!("\x1b[{code}m{label}\x1b[0m") } else { label.to_owned() };
        out.push_str(&format!("  {label}  {:<24} {}\n", check.name, check.detail));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("        {:<24} fix: {fix}\n", ""));
        }
    }
    out
}

fn certificate_checks(
    settings_dir: &Path,
    profile: &Profile,
    public_key: Option<&[u8]>,
    now: SystemTime,
) -> Vec<Check> {
    let certificate = match certificate::load(settings_dir, &profile.name) {
        Ok(Some(certificate)) => certificate,
        Ok(None) => {
            let detail = format!(
                "not known to sfcred; record it with sfcred certificate --profile {} PATH to check expiry and key \
                 match",
                profile.name
            );
            return vec![check("certificate", Status::Skip, detail, None)];
        }
        Err(e) => return vec![check("certificate", Status::Fail, e.to_string(), e.hint())],
    };
    let renew = Some(format!(
        "replace the key and certificate with no outage: sfcred rotate start --profile {}, then upload the new \
         certificate to the app",
        profile.name
    ));
    let until = rfc3339(certificate.not_after);
    let expiry = if certificate.not_after <= now {
        check("certificate", Status::Fail, format!("expired on {until}"), renew)
    } else if certificate.expires_within(now, EXPIRY_WARNING) {
        check("certificate", Status::Warn, format!("expires soon, on {until}"), renew)
    } else {
        check("certificate", Status::Pass, format!("valid until {until}"), None)
    };
    let held = if profile.pkcs11.is_some() { "the key on the token" } else { "the key in the keychain" };
    let matching = match public_key {
        None => check("key matches certificate", Status::Skip, "no usable key", None),
        Some(key) if certificate.matches_public_key(key) => {
            check("key matches certificate", Status::Pass, "yes", None)
        }
        Some(_) => check(
            "key matches certificate",
            Status::Fail,
            format!("{held} is not the certificate's"),
            Some(format!(
                "log in again with the key of this certificate (sfcred login --profile {} --key-file KEY), \
                 or upload the certificate of the key you have",
                profile.name
            )),
        ),
    };
    vec![expiry, matching]
}

/// A sandbox login host with the production audience, or the reverse, is refused by
/// Salesforce with "audience is invalid".
pub fn audience_check(login_url: &LoginUrl, audience: &str) -> Check {
    let expected = default_audience(login_url);
    let known = [crate::config::profile::PRODUCTION_LOGIN_URL, crate::config::profile::SANDBOX_LOGIN_URL];
    let salesforce_host = login_url.host().ends_with("salesforce.com");
    if audience == expected || !salesforce_host || !known.contains(&audience) {
        let detail = format!("{audience} for {}", login_url.host());
        return check("audience", Status::Pass, detail, None);
    }
    let detail = format!("{audience} does not fit {}, which expects {expected}", login_url.host());
    let fix = Some(format!("log in again with --audience {expected} (or without --audience)"));
    check("audience", Status::Warn, detail, fix)
}

fn network_checks(ctx: &Context, profile: &Profile) -> Vec<Check> {
    let probe = match crate::salesforce::exchange::probe(profile, &ctx.trust) {
        Ok(probe) => probe,
        Err(e) => {
            let e = Error::from(e);
            return vec![
                failed("login URL", &e),
                check("clock", Status::Skip, "the server did not answer", None),
            ];
        }
    };
    let scheme =
        if profile.login_url.as_str().starts_with("https:") { "HTTPS" } else { "plain http (loopback)" };
    let reach = format!(
        "{} answered HTTP {} over {scheme} in {} ms",
        profile.login_url,
        probe.status,
        probe.elapsed.as_millis()
    );
    let reachable = check("login URL", Status::Pass, reach, None);
    let clock = match probe.server_date {
        None => check("clock", Status::Skip, "the server sent no Date header", None),
        Some(date) => clock_check(probe.local_date, date),
    };
    vec![reachable, clock]
}

pub fn clock_check(local: SystemTime, server: SystemTime) -> Check {
    let apart = local.duration_since(server).unwrap_or_else(|e| e.duration());
    let detail = format!("{}s from the server's clock", apart.as_secs());
    match apart > CLOCK_TOLERANCE {
        true => check(
            "clock",
            Status::Warn,
            detail,
            Some("set this machine's clock right (timedatectl set-ntp true)".into()),
        ),
        false => check("clock", Status::Pass, detail, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audience_status(url: &str, audience: &str) -> Status {
        audience_check(&LoginUrl::parse(url).unwrap(), audience).status
    }

    #[test]
    fn audience_must_fit_the_org_type() {
        assert_eq!(
            audience_status("https://login.salesforce.com", "https://login.salesforce.com"),
            Status::Pass
        );
        assert_eq!(
            audience_status("https://test.salesforce.com", "https://login.salesforce.com"),
            Status::Warn
        );
        assert_eq!(
            audience_status("https://acme--uat.sandbox.my.salesforce.com", "https://login.salesforce.com"),
            Status::Warn
        );
        assert_eq!(
            audience_status("https://acme.my.salesforce.com", "https://test.salesforce.com"),
            Status::Warn
        );
        assert_eq!(
            audience_status("https://acme.my.salesforce.com", "https://acme.my.site.com/portal"),
            Status::Pass
        );
        assert_eq!(audience_status("http://127.0.0.1:8080", "https://test.salesforce.com"), Status::Pass);
    }

    #[test]
    fn the_checklist_reads_well_and_colours_only_when_asked() {
        let checks = [
            check("keychain", Status::Pass, "keyutils works", None),
            check("certificate", Status::Fail, "expired", Some("make a new one".into())),
        ];
        assert_eq!(
            render("prod", &checks, false),
            "sfcred doctor: profile \"prod\"\n  ok    keychain                 keyutils works\n  \
             FAIL  certificate              expired\n                                 fix: make a new one\n"
        );
        assert!(render("prod", &checks, true).contains("\x1b[31mFAIL\x1b[0m"));
    }

    #[test]
    fn clocks_may_differ_by_a_minute() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(clock_check(t, t + Duration::from_secs(60)).status, Status::Pass);
        assert_eq!(clock_check(t + Duration::from_secs(61), t).status, Status::Warn);
        assert_eq!(clock_check(t, t + Duration::from_secs(3600)).status, Status::Warn);
    }
}
