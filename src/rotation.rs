//! A key rotation's state, kept beside the settings: the profile's next key (made, not yet
//! accepted by Salesforce), or its previous key (kept as a fallback for a grace period
//! while Salesforce's servers learn the new certificate), and which key Salesforce last
//! accepted. The decisions are pure; the file is written atomically.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::pkcs11_uri::Pkcs11Uri;
use crate::token::UnixMillis;

const MAX_FILE_BYTES: u64 = 64 * 1024;

/// One of a profile's keys during a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    Current,
    Next,
    Previous,
}

impl Slot {
    pub fn name(self) -> &'static str {
        match self {
            Slot::Current => "current",
            Slot::Next => "next",
            Slot::Previous => "previous",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextKey {
    pub started_at: UnixMillis,
    /// The next key's token, when it is on one (else it is in the keychain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Uri>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviousKey {
    /// The fallback ends here; the first mint after it deletes the key.
    pub until: UnixMillis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11Uri>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub key: Slot,
    pub at: UnixMillis,
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
            crate::fs::read_regular(&path, MAX_FILE_BYTES).map_err(|e| unreadable(e.to_string()))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| unreadable(e.to_string()))
    }

    /// Saves the state, or removes the file once nothing is left to remember.
    pub fn save(&self, settings_dir: &Path, profile: &str) -> Result<(), RotationError> {
        let path = path_for(settings_dir, profile);
        if self.next.is_none() && self.previous.is_none() {
            return crate::fs::remove_if_present(&path)
                .map_err(|source| RotationError::Write { path, source });
        }
        let bytes = serde_json::to_vec_pretty(self).expect("a rotation serializes");
        crate::fs::write_atomically(&path, &bytes).map_err(|source| RotationError::Write { path, source })
    }

    /// The key to try when Salesforce refuses the current one as an invalid assertion: the
    /// next key, or the previous one while its grace lasts.
    pub fn fallback(&self, now: SystemTime) -> Option<Slot> {
        match (&self.next, &self.previous) {
            (Some(_), _) => Some(Slot::Next),
            (None, Some(previous)) if UnixMillis::from(now).0 < previous.until.0 => Some(Slot::Previous),
            _ => None,
        }
    }

    /// Whether the previous key's grace is over, so that it goes at the next mint.
    pub fn previous_expired(&self, now: SystemTime) -> bool {
        self.previous.as_ref().is_some_and(|previous| UnixMillis::from(now).0 >= previous.until.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn the_fallback_is_the_next_key_then_the_previous_one_within_its_grace() {
        let mut rotation = Rotation {
            next: Some(NextKey { started_at: UnixMillis::from(at(10)), pkcs11: None }),
            ..Rotation::default()
        };
        assert_eq!(rotation.fallback(at(20)), Some(Slot::Next));
        rotation.next = None;
        rotation.previous = Some(PreviousKey { until: UnixMillis::from(at(100)), pkcs11: None });
        assert_eq!(rotation.fallback(at(99)), Some(Slot::Previous));
        assert!(!rotation.previous_expired(at(99)));
        assert_eq!(rotation.fallback(at(100)), None, "the grace is over");
        assert!(rotation.previous_expired(at(100)));
        assert_eq!(Rotation::default().fallback(at(1)), None);
    }

    #[test]
    fn the_state_file_round_trips_and_goes_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let rotation = Rotation {
            next: Some(NextKey { started_at: UnixMillis(1_700_000_000_000), pkcs11: None }),
            previous: None,
            last_accepted: Some(Accepted { key: Slot::Current, at: UnixMillis(1_700_000_001_000) }),
        };
        rotation.save(dir.path(), "p").unwrap();
        assert_eq!(Rotation::load(dir.path(), "p").unwrap(), Some(rotation));
        Rotation::default().save(dir.path(), "p").unwrap();
        assert_eq!(Rotation::load(dir.path(), "p").unwrap(), None);
    }
}
