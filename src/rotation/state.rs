//! A key rotation's state, kept beside the settings, and its pure decisions.
//!
//! The state is a journal as much as a record: each multi-write step (making the next key,
//! promoting it, dropping a key) marks what it is about to do before it writes, and what it
//! has done after each write, so that whatever a crash leaves, the next call that opens the
//! rotation ([`super::RotationTxn`]) knows how to finish it. Only `rotation/` writes it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::keys::pkcs11_uri::Pkcs11Uri;
use crate::token::UnixMillis;

const MAX_FILE_BYTES: u64 = 64 * 1024;

crate::base::choice::choice_enum! {
    /// One of a profile's keys during a rotation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Slot {
        Current => "current", "the key the profile signs with";
        Next => "next", "a rotation's new key, not accepted by Salesforce yet";
        Previous => "previous", "the replaced key, a fallback while the new certificate spreads";
    }
}

impl Slot {
    /// The key tried after this one when Salesforce refuses an assertion.
    pub fn other(self, rotation: &Rotation) -> Option<Slot> {
        match self {
            Slot::Current => rotation.fallback(),
            Slot::Next | Slot::Previous => Some(Slot::Current),
        }
    }
}

/// When something happened, by this machine's clock and, where Salesforce said, by its.
/// Salesforce's clock is the one its certificate spread runs on, and a step of this
/// machine's clock does not move it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    pub local: UnixMillis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce: Option<UnixMillis>,
}

impl Stamp {
    pub fn new(local: SystemTime, salesforce: Option<SystemTime>) -> Stamp {
        Stamp { local: UnixMillis::from(local), salesforce: salesforce.map(UnixMillis::from) }
    }
}

/// Where making or promoting the next key stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextPhase {
    /// `rotate start` is writing the key and its certificate: not yet shown to anyone.
    Making,
    /// Made; its certificate is for the user to upload.
    Ready,
    /// Salesforce accepted it: it is becoming the current key, step by step.
    Promoting {
        done: PromoteStep,
        accepted: Stamp,
        /// The current key's token before the promotion (the settings change at one step).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced_pkcs11: Option<Box<Pkcs11Uri>>,
    },
    /// Being deleted (`rotate abort`).
    Dropping,
}

/// The steps of a promotion, in order; each is recorded once done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromoteStep {
    Begun,
    /// The current keychain key copied into the previous slot.
    PreviousKeySaved,
    /// The next keychain key copied into the current slot.
    CurrentKeyReplaced,
    /// The settings name the next key's token (or none).
    SettingsUpdated,
    PreviousCertificateSaved,
    CurrentCertificateReplaced,
}

impl PromoteStep {
    pub const ALL: [PromoteStep; 6] = [
        PromoteStep::Begun,
        PromoteStep::PreviousKeySaved,
        PromoteStep::CurrentKeyReplaced,
        PromoteStep::SettingsUpdated,
        PromoteStep::PreviousCertificateSaved,
        PromoteStep::CurrentCertificateReplaced,
    ];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextKey {
    pub started_at: UnixMillis,
    /// The next key's token, when it is on one (else it is in the keychain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Uri>,
    /// State files from before phases were kept hold only ready keys.
    #[serde(default = "ready")]
    pub phase: NextPhase,
    /// Where `rotate start` wrote the certificate for upload (absolute), so that an abort
    /// removes it, if it still holds that certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_out: Option<PathBuf>,
}

fn ready() -> NextPhase {
    NextPhase::Ready
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousKey {
    /// The earliest the fallback may end, by this machine's clock.
    pub until: UnixMillis,
    /// When Salesforce accepted the key that replaced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Uri>,
    /// Being deleted: no longer a fallback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dropping: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub key: Slot,
    pub at: UnixMillis,
}

/// What a committed step left to delete: unused by then, deleted last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leftover {
    /// A keychain entry (a token's key is never a leftover: it is deleted while recorded).
    Key(Slot),
    Certificate(Slot),
}

/// A profile's rotation; no file means none is under way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NextKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accepted: Option<Accepted>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no key rotation is under way for profile {profile:?}")]
    NotStarted { profile: String },
    #[error("a key rotation is already under way for profile {profile:?}")]
    AlreadyStarted { profile: String },
    #[error("profile {profile:?}'s next key is not accepted yet: {reason}")]
    NotAccepted { profile: String, reason: String },
    #[error(
        "Salesforce refused both of profile {profile:?}'s keys for {seconds}s ({attempts} tries): {reason}"
    )]
    BothRefused { profile: String, attempts: u32, seconds: u64, reason: String },
}

impl RotationError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            RotationError::Read { .. } => {
                "fix or remove the file: tokens are minted without it, and a rotation under way is forgotten"
                    .into()
            }
            RotationError::Write { .. } => "check the directory's permissions and free space".into(),
            RotationError::NotStarted { profile } => {
                format!("start one: sfcred rotate start --profile {profile}")
            }
            RotationError::AlreadyStarted { profile } => format!(
                "see it with sfcred rotate status --profile {profile}; finish it (sfcred rotate finish) or drop the \
                 next key (sfcred rotate abort)"
            ),
            RotationError::NotAccepted { profile, .. } => format!(
                "upload the next certificate to the app (sfcred rotate status --profile {profile} names it), wait a \
                 few minutes for Salesforce to spread it, then try again"
            ),
            RotationError::BothRefused { profile, .. } => format!(
                "check which certificates the app has (sfcred rotate status --profile {profile} shows both keys' \
                 fingerprints): it must hold the current or the next one"
            ),
        })
    }
}

/// Where a profile's rotation state lives.
pub fn path_for(settings_dir: &Path, profile: &str) -> PathBuf {
    settings_dir.join("rotations").join(format!("{profile}.json"))
}

impl Rotation {
    pub fn load(settings_dir: &Path, profile: &str) -> Result<Option<Rotation>, RotationError> {
        let path = path_for(settings_dir, profile);
        let unreadable = |reason: String| RotationError::Read { path: path.clone(), reason };
        let Some(bytes) =
            crate::stores::fs::read_trusted(&path, MAX_FILE_BYTES).map_err(|e| unreadable(e.to_string()))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| unreadable(e.to_string()))
    }

    /// Saves the state, or removes the file once nothing is left to remember. Only the
    /// rotation's transaction calls this.
    pub(super) fn save(&self, settings_dir: &Path, profile: &str) -> Result<(), RotationError> {
        let path = path_for(settings_dir, profile);
        if self.is_empty() {
            return crate::stores::fs::remove_if_present(&path)
                .map_err(|source| RotationError::Write { path, source });
        }
        let bytes = serde_json::to_vec_pretty(self).expect("a rotation serializes");
        crate::stores::fs::write_atomically(&path, &bytes)
            .map_err(|source| RotationError::Write { path, source })
    }

    fn is_empty(&self) -> bool {
        self.next.is_none() && self.previous.is_none() && self.leftovers.is_empty()
    }

    /// The key to try when Salesforce refuses the current one as an invalid assertion: the
    /// next key once made, else the previous one until it is dropped. No clock decides
    /// this: a key is a fallback for as long as it is kept.
    pub fn fallback(&self) -> Option<Slot> {
        match (&self.next, &self.previous) {
            (Some(NextKey { phase: NextPhase::Ready, .. }), _) => Some(Slot::Next),
            (_, Some(previous)) if !previous.dropping => Some(Slot::Previous),
            _ => None,
        }
    }

    /// Whether the previous key may go, judged when Salesforce accepted the current key
    /// at `accepted`: once the grace has passed since the promotion by Salesforce's clock
    /// when both moments carry it, so that a step of this machine's clock decides nothing.
    /// Without Salesforce's clock, this machine's decides, and a clock that went back
    /// past the promotion keeps the key.
    pub fn previous_may_go(&self, accepted: Stamp, grace: Duration) -> bool {
        let Some(previous) = self.previous.as_ref().filter(|p| !p.dropping) else { return false };
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        match previous.promoted {
            Some(Stamp { salesforce: Some(then), .. }) if let Some(now) = accepted.salesforce => {
                now.0.saturating_sub(then.0) >= grace_ms
            }
            Some(Stamp { local: then, .. }) => {
                accepted.local.0 >= previous.until.0 && accepted.local.0.saturating_sub(then.0) >= grace_ms
            }
            None => accepted.local.0 >= previous.until.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn stamp(local: u64, salesforce: Option<u64>) -> Stamp {
        Stamp::new(at(local), salesforce.map(at))
    }

    fn promoted_at(local: u64, salesforce: Option<u64>, grace: u64) -> Rotation {
        Rotation {
            previous: Some(PreviousKey {
                until: UnixMillis::from(at(local + grace)),
                promoted: Some(stamp(local, salesforce)),
                pkcs11: None,
                dropping: false,
            }),
            ..Rotation::default()
        }
    }

    #[test]
    fn the_fallback_is_the_ready_next_key_then_the_kept_previous_one() {
        let mut rotation = Rotation {
            next: Some(NextKey {
                started_at: UnixMillis::from(at(10)),
                pkcs11: None,
                phase: NextPhase::Making,
                certificate_out: None,
            }),
            ..Rotation::default()
        };
        assert_eq!(rotation.fallback(), None, "a key being made was never shown to anyone");
        rotation.next.as_mut().unwrap().phase = NextPhase::Ready;
        assert_eq!(rotation.fallback(), Some(Slot::Next));
        let mut rotation = promoted_at(100, None, 3600);
        assert_eq!(rotation.fallback(), Some(Slot::Previous), "whatever the clock says");
        rotation.previous.as_mut().unwrap().dropping = true;
        assert_eq!(rotation.fallback(), None);
        assert_eq!(Rotation::default().fallback(), None);
    }

    #[test]
    fn salesforce_s_clock_ends_the_grace_and_a_step_of_ours_does_not() {
        let grace = Duration::from_secs(3600);
        let rotation = promoted_at(1000, Some(5000), 3600);
        // This machine's clock stepped two hours ahead; Salesforce's moved a minute.
        assert!(!rotation.previous_may_go(stamp(1000 + 7200, Some(5060)), grace));
        // Salesforce's hour has passed, whatever ours says (here it went back).
        assert!(rotation.previous_may_go(stamp(900, Some(5000 + 3600)), grace));
        assert!(!rotation.previous_may_go(stamp(900, Some(5000 + 3599)), grace));
    }

    #[test]
    fn without_salesforce_s_clock_ours_decides_but_not_backwards() {
        let grace = Duration::from_secs(3600);
        let rotation = promoted_at(1000, None, 3600);
        assert!(!rotation.previous_may_go(stamp(4599, None), grace));
        assert!(rotation.previous_may_go(stamp(4600, Some(99)), grace), "half a pair of clocks is ours");
        assert!(!rotation.previous_may_go(stamp(500, None), grace), "a clock gone back keeps the key");
        let old_file = Rotation {
            previous: Some(PreviousKey {
                until: UnixMillis::from(at(50)),
                promoted: None,
                pkcs11: None,
                dropping: false,
            }),
            ..Rotation::default()
        };
        assert!(
            old_file.previous_may_go(stamp(50, None), grace)
                && !old_file.previous_may_go(stamp(49, None), grace)
        );
        assert!(!Rotation::default().previous_may_go(stamp(1 << 40, None), grace), "nothing to drop");
    }

    #[test]
    fn the_state_file_round_trips_reads_old_files_and_goes_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let rotation = Rotation {
            next: Some(NextKey {
                started_at: UnixMillis(1_700_000_000_000),
                pkcs11: None,
                phase: NextPhase::Promoting {
                    done: PromoteStep::SettingsUpdated,
                    accepted: stamp(1_700_000_001, Some(1_700_000_002)),
                    replaced_pkcs11: None,
                },
                certificate_out: None,
            }),
            previous: None,
            last_accepted: Some(Accepted { key: Slot::Current, at: UnixMillis(1_700_000_001_000) }),
            leftovers: vec![Leftover::Key(Slot::Next)],
        };
        rotation.save(dir.path(), "p").unwrap();
        assert_eq!(Rotation::load(dir.path(), "p").unwrap(), Some(rotation));
        Rotation::default().save(dir.path(), "p").unwrap();
        assert_eq!(Rotation::load(dir.path(), "p").unwrap(), None);

        let path = path_for(dir.path(), "p");
        std::fs::write(&path, r#"{"next":{"started_at":1700000000000},"previous":{"until":1}}"#).unwrap();
        let old = Rotation::load(dir.path(), "p").unwrap().unwrap();
        assert_eq!(old.next.unwrap().phase, NextPhase::Ready);
        assert!(!old.previous.unwrap().dropping);
    }
}
