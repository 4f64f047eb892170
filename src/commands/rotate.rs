//! `sfcred rotate start|status|finish|abort`: replace a live profile's key with no
//! outage. The next key is made beside the current one, which keeps serving; once
//! Salesforce accepts the next key it becomes the current one (here, or at the first
//! mint that needs it), and the old key stays a fallback for the profile's grace period.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::config::context::Context;
use crate::config::profile::Profile;
use crate::credentials::{self, KeyPlace};
use crate::error::Error;
use crate::keys::certificate::{self, Certificate};
use crate::keys::keygen::KeyBits;
use crate::keys::pkcs11_uri::{Pkcs11Uri, UriText};
use crate::rotation::state::{NextKey, NextPhase, Rotation, Slot};
use crate::rotation::txn::{RotationTxn, lock_profile};
use crate::stores::fs::Readers;
use crate::stores::settings::Settings;
use crate::token::rfc3339;

#[derive(Debug)]
pub struct StartOptions {
    pub profile: String,
    /// By default `PROFILE.next.crt` in the current directory.
    pub cert_out: Option<PathBuf>,
    pub bits: KeyBits,
    pub days: u32,
    /// Make the next key on this token, instead of where the current key lives.
    pub pkcs11: Option<UriText>,
}

/// A saved profile (a rotation needs somewhere to keep its keys).
fn saved_profile(ctx: &Context, name: &str) -> Result<Profile, Error> {
    Ok(Settings::load(ctx.config_dir()?)?.profile(name)?.clone())
}

pub fn start(ctx: &Context, options: StartOptions) -> Result<super::Outcome, Error> {
    let profile = saved_profile(ctx, &options.profile)?;
    let name = &profile.name;
    let cert_out = options.cert_out.clone().unwrap_or_else(|| format!("{name}.next.crt").into());
    // The file an earlier rotation wrote holds a certificate the profile signs with now (or
    // did): it is replaced. Any other file is the user's.
    let left_by_a_rotation = cert_out.exists() && {
        let dir = ctx.config_dir()?;
        let written = Certificate::read(&cert_out).ok().map(|c| c.fingerprint());
        [Slot::Current, Slot::Previous].into_iter().any(|slot| {
            let copy = certificate::load_in(dir, name, slot).ok().flatten();
            copy.is_some_and(|copy| Some(copy.fingerprint()) == written)
        })
    };
    if cert_out.exists() && !left_by_a_rotation {
        return Err(Error::WouldReplace { what: cert_out.display().to_string() });
    }
    let token = match &options.pkcs11 {
        Some(text) => Some(crate::config::profile::parse_pkcs11_flag(&text.0)?),
        // On the current key's token, under a label of its own.
        None => profile.pkcs11.clone().map(|uri| Pkcs11Uri { object: None, id: None, ..uri }),
    };
    let lock = lock_profile(ctx, name)?;
    let mut txn = RotationTxn::begin(ctx, &profile, &lock)?;
    // Recorded absolute, so that an abort from any directory finds it.
    let recorded =
        std::path::absolute(&cert_out).map_err(|source| Error::Write { path: cert_out.clone(), source })?;
    let certificate = txn.start(options.bits, options.days, token, recorded, SystemTime::now())?;
    crate::stores::fs::write_new(&cert_out, certificate.pem.as_bytes(), left_by_a_rotation, Readers::Anyone)
        .map_err(|source| Error::Write { path: cert_out.clone(), source })?;
    crate::base::diag::status(&format!(
        "made profile {name:?}'s next key in {}; the current key keeps serving\n\
         sfcred: wrote its certificate to {} (valid until {})\n\n\
         Next:\n  \
         1. Upload {} to the app (connected app: Edit → Use digital signatures; External Client App:\n     \
            its OAuth settings' certificate). Calls keep working: until Salesforce accepts the new\n     \
            certificate sfcred signs with the current key, then switches by itself.\n  \
         2. Within a few minutes: sfcred rotate finish --profile {name} (or let the next mint switch).\n  \
         sfcred rotate status --profile {name} shows where it stands; sfcred rotate abort --profile {name} gives up.",
        txn.place(Slot::Next)?,
        cert_out.display(),
        rfc3339(certificate.not_after),
        cert_out.display(),
    ));
    Ok(super::Outcome::Done)
}

/// Mints with the next key now: promoted if Salesforce accepts it, else the reason.
pub fn finish(ctx: &Context, profile: &str) -> Result<super::Outcome, Error> {
    let profile = saved_profile(ctx, profile)?;
    let lock = lock_profile(ctx, &profile.name)?;
    let mut txn = RotationTxn::begin(ctx, &profile, &lock)?;
    let token = txn.finish(&SystemTime::now)?;
    crate::stores::tokens::remember(ctx, txn.profile(), &token)?;
    Ok(super::Outcome::Done)
}

/// Drops the next key; the current one goes on as before.
pub fn abort(ctx: &Context, profile: &str) -> Result<super::Outcome, Error> {
    let profile = saved_profile(ctx, profile)?;
    let name = &profile.name;
    let lock = lock_profile(ctx, name)?;
    RotationTxn::begin(ctx, &profile, &lock)?.abort()?;
    crate::base::diag::status(&format!(
        "dropped profile {name:?}'s next key; the current key goes on as before"
    ));
    Ok(super::Outcome::Done)
}

/// One key of a rotation, as `status` shows it.
#[derive(Debug, Serialize)]
struct KeyStatus {
    key: &'static str,
    location: String,
    fingerprint: Option<String>,
    certificate_expires: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_until: Option<String>,
}

#[derive(Debug, Serialize)]
struct ProfileStatus {
    profile: String,
    state: &'static str,
    keys: Vec<KeyStatus>,
    last_accepted: Option<serde_json::Value>,
    next_step: String,
}

pub fn status(ctx: &Context, profile: Option<&str>, json: bool) -> Result<super::Outcome, Error> {
    let dir = ctx.config_dir()?;
    let settings = Settings::load(dir)?;
    let profiles: Vec<&Profile> = match profile {
        Some(name) => vec![settings.profile(name)?],
        None => settings.profiles().collect(),
    };
    let mut statuses = Vec::new();
    for profile in profiles {
        statuses.push(profile_status(ctx, dir, profile)?);
    }
    if json {
        super::print(&format!("{}\n", serde_json::to_string(&statuses).expect("a status serializes")))?;
        return Ok(super::Outcome::Done);
    }
    let mut out = String::new();
    for status in &statuses {
        out.push_str(&format!("profile {:?}: {}\n", status.profile, status.state));
        for key in &status.keys {
            out.push_str(&format!(
                "  {:<8}  {}\n            certificate {} (SHA-256 {}){}\n",
                key.key,
                key.location,
                key.certificate_expires.as_deref().map_or("unknown".into(), |t| format!("valid until {t}")),
                key.fingerprint.as_deref().unwrap_or("unknown"),
                key.fallback_until.as_deref().map_or(String::new(), |t| format!("; a fallback until {t}")),
            ));
        }
        if let Some(accepted) = &status.last_accepted {
            out.push_str(&format!(
                "  Salesforce last accepted the {} key at {}\n",
                accepted["key"].as_str().unwrap_or_default(),
                accepted["at"].as_str().unwrap_or("an unknown time")
            ));
        }
        out.push_str(&format!("  next: {}\n", status.next_step));
    }
    if statuses.is_empty() {
        crate::base::diag::status("no profiles yet; add one with: sfcred login");
    }
    super::print(&out)?;
    Ok(super::Outcome::Done)
}

fn profile_status(ctx: &Context, dir: &Path, profile: &Profile) -> Result<ProfileStatus, Error> {
    let name = &profile.name;
    let rotation = Rotation::load(dir, name)?;
    let key = |slot: Slot, fallback_until: Option<String>| -> Result<KeyStatus, Error> {
        let certificate: Option<Certificate> = certificate::load_in(dir, name, slot)?;
        let location = match credentials::place(ctx, profile, rotation.as_ref(), slot)? {
            KeyPlace::Keychain(store) if slot != Slot::Current => {
                format!("the {store} keychain ({} key)", slot.name())
            }
            place => place.to_string(),
        };
        Ok(KeyStatus {
            key: slot.name(),
            location,
            fingerprint: certificate.as_ref().map(Certificate::fingerprint),
            certificate_expires: certificate.map(|c| rfc3339(c.not_after)),
            fallback_until,
        })
    };
    let mut keys = vec![key(Slot::Current, None)?];
    let (state, next_step) = match &rotation {
        Some(Rotation { next: Some(NextKey { phase: NextPhase::Ready, .. }), .. }) => {
            keys.push(key(Slot::Next, None)?);
            (
                "rotation under way: the next key is not accepted by Salesforce yet",
                format!(
                    "upload the next key's certificate to the app (a copy is {}), wait a few minutes, then sfcred \
                     rotate finish --profile {name}",
                    certificate::path_in(dir, name, Slot::Next).display()
                ),
            )
        }
        // A step a crash interrupted: the next call under the lock finishes it.
        Some(Rotation { next: Some(_), .. }) => (
            "a step of the rotation was interrupted",
            format!(
                "sfcred token --profile {name} --refresh finishes it (so does any sfcred rotate command)"
            ),
        ),
        Some(Rotation { previous: Some(previous), .. }) => {
            let until = previous.until.to_time().map(rfc3339);
            keys.push(key(Slot::Previous, until.clone())?);
            (
                "rotated: the new key is current; the old one is a fallback while Salesforce's servers catch up",
                format!(
                    "nothing: the old key is deleted at the first mint once {} have passed since the new key was \
                     accepted, by Salesforce's clock (here: after {})",
                    humantime::format_duration(profile.rotation_grace),
                    until.unwrap_or_default()
                ),
            )
        }
        _ => (
            "no rotation under way",
            format!("when the certificate nears its end: sfcred rotate start --profile {name}"),
        ),
    };
    let last_accepted = rotation.as_ref().and_then(|r| r.last_accepted.as_ref()).map(|accepted| {
        serde_json::json!({ "key": accepted.key.name(), "at": accepted.at.to_time().map(rfc3339) })
    });
    Ok(ProfileStatus { profile: name.clone(), state, keys, last_accepted, next_step })
}
