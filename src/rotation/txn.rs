//! A profile's keys over their life, as one transaction: [`RotationTxn`] holds the
//! profile's lock, its keychain (opened once) and its rotation's state, and every step of a
//! rotation goes through it: mint (with the other key while a certificate spreads), start,
//! promote, drop a key, abort.
//!
//! Each step orders its writes so that a crash anywhere leaves a state the next call
//! finishes: it records what it is about to do before it writes (the state is its journal),
//! never puts a key into a slot that holds another key still needed, records before it
//! deletes, and deletes last. Opening the transaction first finishes whatever a crash left.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use secrecy::SecretString;

use crate::base::failpoint;
use crate::config::context::Context;
use crate::config::profile::{Profile, StoreKind};
use crate::credentials::{self, KeyPlace};
use crate::error::Error;
use crate::keys::certificate::{self, Certificate};
use crate::keys::pkcs11::Pkcs11Key;
use crate::keys::pkcs11_uri::Pkcs11Uri;
use crate::keys::signer::Signer;
use crate::rotation::state::{
    Accepted, Leftover, NextKey, NextPhase, PreviousKey, PromoteStep, Rotation, RotationError, Slot, Stamp,
};
use crate::stores::cache::FileCache;
use crate::stores::keychain::Keychain;
use crate::stores::settings::Settings;
use crate::token::{Token, UnixMillis, rfc3339};

/// `rotate finish` tries the next key this many times: while its certificate spreads, each
/// request meets a server that has it or not, at random.
const FINISH_ATTEMPTS: u32 = 5;

/// The profile's lock, held: one process at a time mints, rotates, logs in or out for it.
pub struct ProfileLock(#[allow(dead_code, reason = "held for its drop")] std::fs::File);

/// Takes the profile's lock, waiting at most SFCRED_LOCK_TIMEOUT.
pub fn lock_profile(ctx: &Context, profile: &str) -> Result<ProfileLock, Error> {
    let files = FileCache::new(ctx.cache_dir()?.clone());
    Ok(ProfileLock(files.lock(profile, ctx.lock_wait()?)?))
}

/// Every step of a key's life, under the profile's lock (which the caller holds, so that
/// what it does around the step, such as caching the token, is inside it too).
pub struct RotationTxn<'a> {
    ctx: &'a Context,
    profile: Profile,
    dir: &'a Path,
    keychain: Keychain,
    state: Rotation,
    _lock: &'a ProfileLock,
}

impl<'a> RotationTxn<'a> {
    /// Opens the profile's rotation, finishing what a crash left.
    pub fn begin(
        ctx: &'a Context,
        profile: &Profile,
        lock: &'a ProfileLock,
    ) -> Result<RotationTxn<'a>, Error> {
        let state = Rotation::load(ctx.config_dir()?, &profile.name)?.unwrap_or_default();
        RotationTxn::open(ctx, profile, lock, state, true)
    }

    /// For a mint: a state file that cannot be read is a warning (and is left as it is),
    /// never a reason to refuse a token.
    pub fn for_mint(
        ctx: &'a Context,
        profile: &Profile,
        lock: &'a ProfileLock,
    ) -> Result<RotationTxn<'a>, Error> {
        let state = Rotation::load(ctx.config_dir()?, &profile.name)
            .inspect_err(|e| crate::base::diag::warn(&format!("ignoring the key rotation's state: {e}")))
            .ok()
            .flatten()
            .unwrap_or_default();
        RotationTxn::open(ctx, profile, lock, state, false)
    }

    /// `strict`: a step a crash left that cannot be finished now is an error; else (for a
    /// mint, a logout) a warning, and the current key goes on signing.
    fn open(
        ctx: &'a Context,
        profile: &Profile,
        lock: &'a ProfileLock,
        state: Rotation,
        strict: bool,
    ) -> Result<RotationTxn<'a>, Error> {
        let dir = ctx.config_dir()?;
        // Read again under the lock: the call that held it may have promoted a key (and
        // changed the profile's token), or logged the profile out.
        let profile = Settings::load(dir)?.profile(&profile.name)?.clone();
        let keychain = credentials::keychain_for(ctx, &profile)?;
        let mut txn = RotationTxn { ctx, profile, dir, keychain, state, _lock: lock };
        match txn.recover() {
            Ok(()) => {}
            Err(e) if strict => return Err(e),
            Err(e) => crate::base::diag::warn(&format!(
                "an interrupted step of profile {:?}'s key rotation could not be finished (the next call \
                 tries again): {e}",
                txn.profile.name
            )),
        }
        Ok(txn)
    }

    pub fn state(&self) -> &Rotation {
        &self.state
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// The profile as the transaction left it (a promotion may change its token).
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The only writer of the state file; every write is a failure point.
    fn save(&self, step: &str) -> Result<(), Error> {
        self.state.save(self.dir, &self.profile.name)?;
        failpoint::hit(&format!("rotation-saved:{step}"));
        Ok(())
    }

    /// Finishes a step that a crash interrupted.
    fn recover(&mut self) -> Result<(), Error> {
        let phase = self.state.next.as_ref().map(|next| next.phase.clone());
        match phase {
            // Never shown to anyone, or being given up: it goes.
            Some(NextPhase::Making | NextPhase::Dropping) => self.drop_next()?,
            // Salesforce accepted it: the promotion goes on from where it stopped.
            Some(NextPhase::Promoting { done, accepted, replaced_pkcs11 }) => {
                self.promote_from(done, accepted, replaced_pkcs11.map(|uri| *uri))?
            }
            Some(NextPhase::Ready) | None => {}
        }
        if self.state.previous.as_ref().is_some_and(|previous| previous.dropping) {
            self.drop_previous()?;
        }
        self.clear_leftovers()
    }

    /// The signer of the key in `slot`.
    pub fn signer(&self, slot: Slot) -> Result<Box<dyn Signer>, Error> {
        credentials::signer_in(self.ctx, &self.profile, Some(&self.state), Some(&self.keychain), slot)
    }

    pub fn client_id(&self) -> Result<SecretString, Error> {
        Ok(self.keychain.read_client_id(&self.profile.name)?)
    }

    /// Where the key in `slot` lives.
    pub fn place(&self, slot: Slot) -> Result<KeyPlace, Error> {
        credentials::place(self.ctx, &self.profile, Some(&self.state), slot)
    }

    /// Mints with the current key. While a rotation has two keys, an invalid assertion is
    /// a certificate still spreading: the keys are tried in turn, with jittered backoff,
    /// until one is accepted or the request timeout is spent. Then the books are kept: a
    /// next key that signed is promoted, a previous key whose grace is over goes. The
    /// bookkeeping never costs the caller its token: its failures are warnings.
    pub fn mint(&mut self, clock: &dyn Fn() -> SystemTime) -> Result<Token, Error> {
        let (token, slot, stamp) = self.mint_with(Slot::Current, None, clock)?;
        if let Err(e) = self.after_mint(slot, stamp) {
            crate::base::diag::warn(&format!(
                "the key rotation of profile {:?} was not updated: {e}",
                self.profile.name
            ));
        }
        Ok(token)
    }

    /// Mints starting with `first`, alternating with the other key on invalid assertions
    /// (or, with `attempts`, trying `first` alone that many times).
    fn mint_with(
        &mut self,
        first: Slot,
        attempts: Option<u32>,
        clock: &dyn Fn() -> SystemTime,
    ) -> Result<(Token, Slot, Stamp), Error> {
        // The key first: a profile without one is "not logged in" for its key, which says more.
        let mut signers: Vec<(Slot, Box<dyn Signer>)> = vec![(first, self.signer(first)?)];
        let client_id = self.client_id()?;
        let started = Instant::now();
        let deadline = started + self.profile.request_timeout;
        let mut slot = first;
        let mut tries = 0;
        loop {
            tries += 1;
            if !signers.iter().any(|(s, _)| *s == slot) {
                signers.push((slot, self.signer(slot)?));
            }
            let signer = &signers.iter().find(|(s, _)| *s == slot).expect("just opened").1;
            let now = clock();
            // Every attempt within what is left of the one budget.
            let mut budget = self.profile.clone();
            let left = deadline.saturating_duration_since(Instant::now());
            budget.request_timeout = left.clamp(Duration::from_secs(1), self.profile.request_timeout);
            let error = match crate::mint::mint(self.ctx, &budget, &client_id, signer.as_ref(), now) {
                Ok(minted) => return Ok((minted.token, slot, Stamp::new(now, minted.salesforce_time))),
                Err(error) if error.is_invalid_assertion() => error,
                Err(error) => return Err(error),
            };
            let next_slot = match attempts {
                Some(most) if tries < most => slot,
                Some(_) => return Err(error),
                None => match slot.other(&self.state) {
                    Some(other) => other,
                    None => return Err(error),
                },
            };
            // The first switch is at once; after that, back off.
            let delay = match tries {
                1 if next_slot != slot => Duration::ZERO,
                _ => crate::salesforce::exchange::retry_delay(
                    (tries - 1).min(3),
                    crate::salesforce::exchange::jitter(),
                ),
            };
            // Each key is tried once at least, whatever the first try cost.
            if tries >= 2 && Instant::now() + delay >= deadline {
                if attempts.is_some() {
                    return Err(error);
                }
                return Err(RotationError::BothRefused {
                    profile: self.profile.name.clone(),
                    attempts: tries,
                    seconds: started.elapsed().as_secs(),
                    reason: error.to_string(),
                }
                .into());
            }
            crate::base::diag::verbose(|| {
                format!("{error}; signing with the {} key in {} ms", next_slot.name(), delay.as_millis())
            });
            std::thread::sleep(delay);
            slot = next_slot;
        }
    }

    /// After Salesforce accepted the key in `slot` at `at`.
    fn after_mint(&mut self, slot: Slot, at: Stamp) -> Result<(), Error> {
        let mut accepted = slot;
        if slot == Slot::Next {
            self.promote(at)?;
            self.announce_promotion(at);
            accepted = Slot::Current;
        } else if slot == Slot::Current && self.state.previous_may_go(at, self.profile.rotation_grace) {
            self.drop_previous()?;
            crate::base::diag::verbose(|| format!("deleted profile {:?}'s replaced key", self.profile.name));
        }
        if self.state.next.is_some() || self.state.previous.is_some() {
            self.state.last_accepted = Some(Accepted { key: accepted, at: at.local });
            self.save("accepted")?;
        }
        Ok(())
    }

    /// `rotate start`: makes the next key (where the current one lives, or on `token`) and
    /// its certificate, beside the current key, which keeps serving. The certificate is for
    /// the caller to hand out: until it returns, the key was never shown to anyone.
    pub fn start(
        &mut self,
        bits: crate::keys::keygen::KeyBits,
        days: u32,
        token: Option<Pkcs11Uri>,
        certificate_out: std::path::PathBuf,
        now: SystemTime,
    ) -> Result<Certificate, Error> {
        let name = self.profile.name.clone();
        if self.state.next.is_some() {
            return Err(RotationError::AlreadyStarted { profile: name }.into());
        }
        // A token key is labelled before it is made, so that a crash finds it by its label
        // (the URI's own object= if it names one, as generate takes it).
        let label = match token.as_ref().and_then(|uri| uri.object.clone()) {
            Some(label) => label,
            None => format!("sfcred-{name}-{}", crate::salesforce::assertion::unix_seconds(now)),
        };
        let planned =
            token.as_ref().map(|uri| Pkcs11Uri { object: Some(label.clone()), id: None, ..uri.clone() });
        let started_at = UnixMillis::from(now);
        let certificate_out = Some(certificate_out);
        self.state.next = Some(NextKey {
            started_at,
            pkcs11: planned,
            phase: NextPhase::Making,
            certificate_out: certificate_out.clone(),
        });
        self.save("start-begun")?;
        let made = self.make_next(bits, days, token, &label, now);
        let (certificate, made) = match made {
            Ok(made) => made,
            Err(e) => {
                // What was made goes again; if that fails too, the next call finishes it.
                if let Err(undo) = self.drop_next() {
                    crate::base::diag::warn(&format!("the half-made next key stays recorded: {undo}"));
                }
                return Err(e);
            }
        };
        self.state.next =
            Some(NextKey { started_at, pkcs11: made, phase: NextPhase::Ready, certificate_out });
        self.save("start-done")?;
        Ok(certificate)
    }

    /// The next key and its certificate copy: on `token`, or in the keychain's next slot.
    fn make_next(
        &mut self,
        bits: crate::keys::keygen::KeyBits,
        days: u32,
        token: Option<Pkcs11Uri>,
        label: &str,
        now: SystemTime,
    ) -> Result<(Certificate, Option<Pkcs11Uri>), Error> {
        let name = self.profile.name.clone();
        let common_name = format!("sfcred {name}");
        let _progress = crate::base::diag::Progress::start(&format!("making a {bits}-bit RSA key"));
        let (certificate, made) = match token {
            Some(uri) => {
                let pin =
                    credentials::pkcs11_pin(self.ctx, &uri, Some(&self.keychain), &name)?.map(|(pin, _)| pin);
                let key = Pkcs11Key::generate(
                    &uri,
                    pin.as_ref(),
                    label,
                    bits.bits(),
                    false,
                    self.ctx.keychain_timeout()?,
                )?;
                failpoint::hit("start:token-key-made");
                let certificate = crate::keys::keygen::certificate_for(&key, &common_name, days, now)
                    .map_err(Error::Keygen)?;
                let made: Pkcs11Uri = key.uri().parse().expect("a token key's own URI parses");
                (certificate, Some(Pkcs11Uri { pin_value: uri.pin_value.clone(), ..made }))
            }
            None => {
                let pair =
                    crate::keys::keygen::generate(bits, &common_name, days, now).map_err(Error::Keygen)?;
                self.keychain.write_key_in(&name, Slot::Next, &pair.key)?;
                failpoint::hit("start:key-written");
                (pair.certificate, None)
            }
        };
        certificate::save_in(self.dir, &name, Slot::Next, &certificate)?;
        failpoint::hit("start:certificate-written");
        Ok((certificate, made))
    }

    /// `rotate finish`: mints with the next key now, and promotes it if Salesforce accepts it.
    pub fn finish(&mut self, clock: &dyn Fn() -> SystemTime) -> Result<Token, Error> {
        let name = self.profile.name.clone();
        if !matches!(self.state.next, Some(NextKey { phase: NextPhase::Ready, .. })) {
            return Err(RotationError::NotStarted { profile: name }.into());
        }
        let (token, _, at) = self.mint_with(Slot::Next, Some(FINISH_ATTEMPTS), clock).map_err(|error| {
            match error.is_invalid_assertion() {
                true => {
                    RotationError::NotAccepted { profile: name.clone(), reason: error.to_string() }.into()
                }
                false => error,
            }
        })?;
        self.after_mint(Slot::Next, at)?;
        Ok(token)
    }

    /// `rotate abort`: drops the next key; the current one goes on as before.
    pub fn abort(&mut self) -> Result<(), Error> {
        if !matches!(self.state.next, Some(NextKey { phase: NextPhase::Ready, .. })) {
            return Err(RotationError::NotStarted { profile: self.profile.name.clone() }.into());
        }
        self.drop_next()
    }

    /// For a logout: a rotation's keys go, on a token too, and so does its state.
    pub fn drop_all(&mut self) -> Result<(), Error> {
        self.drop_next()?;
        self.drop_previous()
    }

    /// Makes the next key the current one, and the current one the previous one, a
    /// fallback for the profile's grace. An older fallback goes first.
    fn promote(&mut self, accepted: Stamp) -> Result<(), Error> {
        if self.state.previous.is_some() {
            self.drop_previous()?;
        }
        let replaced_pkcs11 = self.profile.pkcs11.clone();
        let next = self.state.next.as_mut().expect("a rotation with a next key");
        let replaced = replaced_pkcs11.clone().map(Box::new);
        next.phase = NextPhase::Promoting { done: PromoteStep::Begun, accepted, replaced_pkcs11: replaced };
        self.save("promote-begun")?;
        self.promote_from(PromoteStep::Begun, accepted, replaced_pkcs11)
    }

    /// The steps of a promotion after `done`, each recorded once done, then the commit.
    /// Redoing a step whose record a crash lost writes what it wrote before.
    fn promote_from(
        &mut self,
        done: PromoteStep,
        accepted: Stamp,
        replaced_pkcs11: Option<Pkcs11Uri>,
    ) -> Result<(), Error> {
        let name = self.profile.name.clone();
        let next_pkcs11 = self.state.next.as_ref().and_then(|next| next.pkcs11.clone());
        let current_in_keychain = replaced_pkcs11.is_none() && self.profile.store != StoreKind::Environment;
        let next_in_keychain = next_pkcs11.is_none();
        for step in PromoteStep::ALL.into_iter().filter(|step| *step > done) {
            match step {
                PromoteStep::Begun => {}
                PromoteStep::PreviousKeySaved if current_in_keychain => {
                    let key = self.keychain.read_key_in(&name, Slot::Current)?;
                    self.keychain.write_key_in(&name, Slot::Previous, &key)?;
                }
                PromoteStep::CurrentKeyReplaced if next_in_keychain => {
                    let key = self.keychain.read_key_in(&name, Slot::Next)?;
                    self.keychain.write_key_in(&name, Slot::Current, &key)?;
                }
                PromoteStep::SettingsUpdated => {
                    let pkcs11 = next_pkcs11.clone();
                    Settings::try_update(self.dir, |settings| -> Result<(), Error> {
                        let mut updated = settings.profile(&name)?.clone();
                        updated.pkcs11 = pkcs11;
                        settings.put(updated);
                        Ok(())
                    })?;
                    self.profile.pkcs11 = next_pkcs11.clone();
                }
                PromoteStep::PreviousCertificateSaved => {
                    self.copy_certificate(Slot::Current, Slot::Previous)?
                }
                PromoteStep::CurrentCertificateReplaced => {
                    self.copy_certificate(Slot::Next, Slot::Current)?
                }
                PromoteStep::PreviousKeySaved | PromoteStep::CurrentKeyReplaced => {}
            }
            failpoint::hit(&format!("promote-written:{step:?}"));
            let next = self.state.next.as_mut().expect("a promotion has a next key");
            let replaced = replaced_pkcs11.clone().map(Box::new);
            next.phase = NextPhase::Promoting { done: step, accepted, replaced_pkcs11: replaced };
            self.save(&format!("promote-{step:?}"))?;
        }
        // The commit: from here the new key is current and the old one the fallback.
        self.state.next = None;
        self.state.previous = Some(PreviousKey {
            until: UnixMillis::from(
                accepted.local.to_time().unwrap_or(SystemTime::UNIX_EPOCH) + self.profile.rotation_grace,
            ),
            promoted: Some(accepted),
            pkcs11: replaced_pkcs11,
            dropping: false,
        });
        self.state.last_accepted = Some(Accepted { key: Slot::Current, at: accepted.local });
        if next_in_keychain {
            self.state.leftovers.push(Leftover::Key(Slot::Next));
        }
        // A keychain key replaced by a token's lives on as the previous key only.
        if current_in_keychain && !next_in_keychain {
            self.state.leftovers.push(Leftover::Key(Slot::Current));
        }
        self.state.leftovers.push(Leftover::Certificate(Slot::Next));
        self.save("promote-committed")?;
        self.clear_leftovers()
    }

    /// Copies the certificate of `from` over that of `to` (none there: `to` goes too).
    fn copy_certificate(&self, from: Slot, to: Slot) -> Result<(), Error> {
        match certificate::load_in(self.dir, &self.profile.name, from)? {
            Some(certificate) => certificate::save_in(self.dir, &self.profile.name, to, &certificate)?,
            None => remove(&certificate::path_in(self.dir, &self.profile.name, to))?,
        }
        Ok(())
    }

    /// Deletes what committed steps left, then forgets it.
    fn clear_leftovers(&mut self) -> Result<(), Error> {
        if self.state.leftovers.is_empty() {
            return Ok(());
        }
        for leftover in self.state.leftovers.clone() {
            match leftover {
                Leftover::Key(slot) => self.keychain.delete_key_in(&self.profile.name, slot)?,
                Leftover::Certificate(slot) => {
                    remove(&certificate::path_in(self.dir, &self.profile.name, slot))?
                }
            }
            failpoint::hit(&format!("leftover-deleted:{leftover:?}"));
        }
        self.state.leftovers.clear();
        self.save("leftovers-cleared")
    }

    /// Deletes the previous key: recorded first, so that a crash finishes the deletion.
    fn drop_previous(&mut self) -> Result<(), Error> {
        let Some(previous) = self.state.previous.as_mut() else { return Ok(()) };
        if !previous.dropping {
            previous.dropping = true;
            self.save("drop-previous-begun")?;
        }
        self.delete_key(Slot::Previous)?;
        self.state.previous = None;
        self.save("drop-previous-done")
    }

    /// Deletes the next key: recorded first, so that a crash finishes the deletion.
    fn drop_next(&mut self) -> Result<(), Error> {
        let Some(next) = self.state.next.as_mut() else { return Ok(()) };
        if next.phase != NextPhase::Dropping {
            next.phase = NextPhase::Dropping;
            self.save("drop-next-begun")?;
        }
        // Before the certificate copy it is compared with goes.
        self.remove_certificate_out();
        self.delete_key(Slot::Next)?;
        self.state.next = None;
        self.save("drop-next-done")
    }

    /// Removes the certificate `rotate start` wrote for upload, if it is still the next key's
    /// (a file the user has since replaced stays); one that is gone already is fine. A file
    /// that cannot be removed is a warning: it holds no secret, and the abort must go on.
    fn remove_certificate_out(&self) {
        let Some(path) = self.state.next.as_ref().and_then(|next| next.certificate_out.clone()) else {
            return;
        };
        let Ok(settings_dir) = self.ctx.config_dir() else { return };
        let copy =
            crate::keys::certificate::load_in(settings_dir, &self.profile.name, Slot::Next).ok().flatten();
        let written = Certificate::read(&path).ok();
        if let (Some(copy), Some(written)) = (copy, written)
            && copy.fingerprint() == written.fingerprint()
        {
            match crate::stores::fs::remove_if_present(&path) {
                Ok(_) => crate::base::diag::status(&format!(
                    "removed {}, the next key's certificate",
                    path.display()
                )),
                Err(e) => crate::base::diag::warn(&format!(
                    "{}, the next key's certificate, stays: {e}; remove it by hand",
                    path.display()
                )),
            }
        }
    }

    /// Deletes the key in `slot` and its certificate copy; what is gone already is fine.
    fn delete_key(&self, slot: Slot) -> Result<(), Error> {
        let name = &self.profile.name;
        let doomed = self.place(slot)?;
        // Never a token key the profile signs with now, whatever the state file says
        // (keychain slots are separate entries by construction).
        if matches!(doomed, KeyPlace::Token(_))
            && doomed.to_string() == self.place(Slot::Current)?.to_string()
        {
            crate::base::diag::warn(&format!(
                "kept profile {name:?}'s {} key: it is the current key",
                slot.name()
            ));
        } else {
            match doomed {
                KeyPlace::Token(uri) => {
                    let pin = credentials::pkcs11_pin(self.ctx, &uri, Some(&self.keychain), name)?;
                    Pkcs11Key::destroy(&uri, pin.map(|(pin, _)| pin).as_ref(), self.ctx.keychain_timeout()?)?;
                }
                KeyPlace::Keychain(_) => self.keychain.delete_key_in(name, slot)?,
                KeyPlace::Environment => {}
            }
        }
        failpoint::hit(&format!("key-deleted:{}", slot.name()));
        remove(&certificate::path_in(self.dir, name, slot))?;
        failpoint::hit(&format!("certificate-deleted:{}", slot.name()));
        Ok(())
    }

    /// Says once, on stderr, that the next key became the current one.
    fn announce_promotion(&self, at: Stamp) {
        let until = at.local.to_time().unwrap_or(SystemTime::UNIX_EPOCH) + self.profile.rotation_grace;
        crate::base::diag::status(&format!(
            "Salesforce accepted profile {:?}'s new key: it is now the current key; the old one stays a \
             fallback for {} after that (by Salesforce's clock), and is deleted at the first mint after that",
            self.profile.name,
            humantime::format_duration(self.profile.rotation_grace),
        ));
        crate::base::diag::verbose(|| format!("the fallback lasts until {} at the earliest", rfc3339(until)));
    }
}

fn remove(path: &Path) -> Result<(), Error> {
    crate::stores::fs::remove_if_present(path)
        .map_err(|source| Error::Write { path: path.to_owned(), source })
}

/// A login's new profile replaces any rotation of the one it replaces: the state goes, and
/// what it was is returned for the login to put back if it fails.
pub fn reset(settings_dir: &Path, profile: &str) -> Result<Option<Rotation>, Error> {
    // A damaged state file has nothing worth putting back.
    let old = Rotation::load(settings_dir, profile).ok().flatten();
    Rotation::default().save(settings_dir, profile)?;
    Ok(old)
}

/// Puts back what [`reset`] removed.
pub fn restore(settings_dir: &Path, profile: &str, old: Option<Rotation>) -> Result<(), Error> {
    Ok(old.unwrap_or_default().save(settings_dir, profile)?)
}

/// Whether the profile is logged in with a key keygen would replace.
pub fn has_live_key(ctx: &Context, name: &str, store: StoreKind) -> Result<bool, Error> {
    let profile = match Settings::load(ctx.config_dir()?)?.profile(name) {
        Ok(profile) => profile.clone(),
        Err(crate::stores::settings::SettingsError::UnknownProfile { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if profile.pkcs11.is_some() {
        return Ok(true);
    }
    let keychain = Keychain::open(ctx.store_for(profile.store).unwrap_or(store), ctx.keychain_timeout()?)?;
    match keychain.read_private_key(name) {
        Ok(_) => Ok(true),
        Err(e) if e.is_missing() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
