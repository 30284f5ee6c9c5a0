//! The russh session handler: who may log in, and which requests are refused with what message.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use atr_core::ids::Uid;
use atr_core::permissions::Actor;
use russh::keys::PublicKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure};

use super::command::{self, USAGE};
use super::{SshContext, upload};

/// Makes one [`Handler`] per connection.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) cx: Arc<SshContext>,
}

impl russh::server::Server for Server {
    type Handler = Handler;

    fn new_client(&mut self, peer: Option<SocketAddr>) -> Handler {
        Handler { cx: Arc::clone(&self.cx), peer, uid: None, channels: HashMap::new() }
    }

    fn handle_session_error(&mut self, error: anyhow::Error) {
        // "early eof" is also how ordinary disconnects end.
        tracing::debug!("SSH session ended: {error:#}");
    }
}

/// One SSH connection.
#[derive(Debug)]
pub(crate) struct Handler {
    cx: Arc<SshContext>,
    peer: Option<SocketAddr>,
    /// The logged-in uid.
    uid: Option<Uid>,
    /// Session channels not yet running a command.
    channels: HashMap<ChannelId, Channel<Msg>>,
}

const ONLY_RSYNC: &str = "This SSH service accepts only rsync uploads and downloads of release drafts";

impl Handler {
    /// Whether `key` is one of the SSH keys `user` registered.
    async fn known_key(&self, user: &str, key: &PublicKey) -> bool {
        let Ok(uid) = Uid::new(user) else { return false };
        let storage = Arc::clone(&self.cx.storage);
        let keys = tokio::task::spawn_blocking(move || storage.read(|tx| tx.ssh_keys_of(&uid))).await;
        let keys = match keys {
            Ok(Ok(keys)) => keys,
            Ok(Err(e)) => {
                tracing::error!("cannot read the SSH keys of {user}: {e}");
                return false;
            }
            Err(e) => {
                tracing::error!("cannot read the SSH keys of {user}: {e}");
                return false;
            }
        };
        keys.iter()
            .any(|k| PublicKey::from_openssh(&k.key).is_ok_and(|known| known.key_data() == key.key_data()))
    }

    /// The actor for the logged-in uid, with the roles the accounts give it.
    fn actor(&self) -> Option<Actor> {
        let uid = self.uid.clone()?;
        let admin = self.cx.accounts.current().get(&uid).is_some_and(|a| a.admin);
        Some(crate::identity::actor_for(&self.cx.storage, &uid, admin))
    }

    /// Refuses a request on `channel` the way a user sees: the message on stderr, exit status 1.
    async fn refuse(
        &mut self,
        channel: ChannelId,
        message: &str,
        session: &mut Session,
    ) -> anyhow::Result<()> {
        tracing::info!(uid = ?self.uid, peer = ?self.peer, "SSH request refused: {message}");
        session.channel_success(channel)?;
        session.extended_data(channel, 1, format!("ATR: {message}\n").into_bytes())?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)?;
        self.channels.remove(&channel);
        Ok(())
    }
}

impl russh::server::Handler for Handler {
    type Error = anyhow::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::reject())
    }

    async fn auth_password(&mut self, user: &str, _password: &str) -> Result<Auth, Self::Error> {
        tracing::info!(user, peer = ?self.peer, "SSH password login refused (public keys only)");
        Ok(Auth::reject())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.known_key(user, offer.public_key).await { Ok(Auth::Accept) } else { Ok(Auth::reject()) }
    }

    async fn auth_publickey(&mut self, user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        if self.known_key(user, key.public_key).await {
            tracing::info!(user, peer = ?self.peer, "SSH login");
            self.uid = Uid::new(user).ok();
            Ok(Auth::Accept)
        } else {
            tracing::info!(user, peer = ?self.peer, "SSH login refused: not a registered key of this user");
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.uid.is_none() {
            reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::Other {
                code: 1,
                reason: format!("{ONLY_RSYNC}; port forwarding is refused."),
            })
            .await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::Other {
                code: 1,
                reason: format!("{ONLY_RSYNC}; socket forwarding is refused."),
            })
            .await;
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.reject(ChannelOpenFailure::AdministrativelyProhibited).await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::info!(uid = ?self.uid, "SSH port forwarding refused");
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        _socket_path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn agent_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::info!(uid = ?self.uid, "SSH agent forwarding refused");
        session.channel_failure(channel)?;
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.refuse(channel, &format!("{ONLY_RSYNC}; shells are refused. Use: {USAGE}"), session).await
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let name = name.escape_debug().to_string();
        self.refuse(
            channel,
            &format!("{ONLY_RSYNC}; the subsystem `{name}` is refused. Use: {USAGE}"),
            session,
        )
        .await
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let request = match command::parse(data) {
            Ok(r) => r,
            Err(refused) => return self.refuse(channel, &refused.0, session).await,
        };
        let (Some(actor), Some(ch)) = (self.actor(), self.channels.remove(&channel)) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        tracing::info!(uid = ?self.uid, peer = ?self.peer, ?request, "rsync over SSH");
        tokio::spawn(upload::run(Arc::clone(&self.cx), actor, request, ch));
        Ok(())
    }
}
