#!/usr/bin/env bash
# Installs and starts the IMAP server the e-mail tests run against: a private Dovecot
# 2.3 instance (Debian packages dovecot-imapd, dovecot-lmtpd, plus swaks to deliver test
# mail) on loopback only, IMAP on 127.0.0.1:10143 (plaintext, IDLE) and LMTP on
# 127.0.0.1:10024. It is not the system Dovecot: own config, own base_dir, own ports,
# everything under $PORTICO_MAIL_DIR (default /tmp/portico-dovecot).
# Idempotent: does nothing when the instance is already running; run it before the
# tests, never from tests running in parallel (apt-get would fight over the dpkg lock).
# Prints one line to stdout at the end: the connection facts. See tests/mail/README.md.
set -euo pipefail

# Not under $HOME: the mail, auth and login processes run as unprivileged users
# (mail, dovecot, dovenull) that must reach these files, and /root is mode 0700.
STATE=${PORTICO_MAIL_DIR:-/tmp/portico-dovecot}
IMAP_PORT=10143
LMTP_PORT=10024
PASSWORD=secret
USERS=(support@acme.test help@beta.test intake1@test.local intake2@test.local
       intake3@test.local intake4@test.local)
PACKAGES=(dovecot-imapd dovecot-lmtpd swaks)

CONF=$STATE/dovecot.conf
PASSWD=$STATE/users
PIDFILE=$STATE/run/master.pid

die() { echo "tests/mail/setup.sh: $*" >&2; exit 1; }

# --- packages -------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 ||
        die "install ${missing[*]} (Dovecot 2.3 IMAP and LMTP, swaks) by hand"
    echo "installing ${missing[*]} (Debian packages)" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Try without a (slow) index refresh first; refresh only when that fails.
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update >/dev/null
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    }
fi

# The config below is Dovecot 2.3 syntax; 2.4 (Debian 13) renamed and restructured much
# of it (mail_location, passdb/userdb blocks, auth_allow_cleartext, ...).
version=$(dovecot --version)
[[ $version == 2.3.* ]] || die "Dovecot 2.3 needed, found $version"

# --- state dir, users -----------------------------------------------------------------
# Dovecot's master must start as root (it binds, chroots and drops privileges).
[[ $EUID -eq 0 ]] || die "run as root"
# Mail is stored and delivered as the stock `mail` user (no new system user needed).
MAIL_UID=$(id -u mail)
MAIL_GID=$(id -g mail)

# 0755 so that the unprivileged Dovecot processes can traverse it.
install -d -m 0755 "$STATE" "$STATE/lib"
# Maildirs and homes are created on demand by Dovecot, as the mail user.
install -d -m 0700 -o "$MAIL_UID" -g "$MAIL_GID" "$STATE/mail" "$STATE/home"

# The passwd-file is both passdb and userdb. Tests may append lines like
# `user:{PLAIN}password::::::` at any time (the uid and gid fields must be present, even
# empty, or the line is passdb-only and the user can't log in or receive mail): Dovecot
# notices the changed mtime and re-reads the file on the next lookup. Keep the lines
# tests added; only add the standard users that are missing.
touch "$PASSWD"
chmod 0644 "$PASSWD" # the auth process reads it as the `dovecot` user
for u in "${USERS[@]}"; do
    awk -F: -v u="$u" '$1 == u { found = 1 } END { exit !found }' "$PASSWD" || echo "$u:{PLAIN}$PASSWORD::::::" >>"$PASSWD"
done

# --- config ---------------------------------------------------------------------------
# A complete config of its own: /etc/dovecot (the system instance's config, with its
# conf.d includes) is not read at all; anything not set here is Dovecot's built-in default.
new_conf=$(cat <<EOF
# Written by tests/mail/setup.sh on every run; edit the script, not this file.

# Keep this instance apart from the system one: own name (process titles read
# dovecot-portico-mail/...), own runtime dir (sockets, master.pid), own state dir, own
# log. Talk to it with: doveadm -c <this file> ...
instance_name = portico-mail
base_dir = $STATE/run
state_dir = $STATE/lib
log_path = $STATE/dovecot.log

protocols = imap lmtp
listen = 127.0.0.1

# Loopback only, so plain text is fine: no TLS, and PLAIN/LOGIN allowed without it
# (2.3 spelling; 2.4 calls it auth_allow_cleartext = yes).
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Full addresses are the user names, compared case-insensitively (the lookup key is
# lowercased); applies to IMAP logins and LMTP recipients alike.
auth_username_format = %Lu
# Wrong passwords answer at once instead of after the default 2 s.
auth_failure_delay = 0
auth_verbose = yes

# Maildir per user; INBOX is the maildir itself, other mailboxes are .Name subdirs.
mail_location = maildir:$STATE/mail/%u
# Dovecot refuses to access mail as root; every user's mail belongs to \`mail\`
# ($MAIL_UID:$MAIL_GID), and the valid uid/gid range is exactly that.
mail_uid = $MAIL_UID
mail_gid = $MAIL_GID
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID
last_valid_gid = $MAIL_GID
# Throwaway test mail: skip fsync for speed.
mail_fsync = never

namespace inbox {
  inbox = yes
}

passdb {
  driver = passwd-file
  # A bare password in the file (no {SCHEME} prefix) is taken as plain text too.
  args = scheme=PLAIN $PASSWD
}
userdb {
  driver = passwd-file
  args = $PASSWD
  # Whatever uid/gid a line names (or none), mail is accessed as the mail user.
  override_fields = uid=$MAIL_UID gid=$MAIL_GID
  default_fields = home=$STATE/home/%u
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  # No IMAPS (the built-in default would listen on 993).
  inet_listener imaps {
    port = 0
  }
}

# LMTP over TCP, so tests deliver with e.g. swaks --protocol LMTP (the default unix
# socket stays, in base_dir). Delivers into the recipient's INBOX; user+detail@domain
# goes to the INBOX of user@domain.
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}

protocol imap {
  # IDLE is on by default. Tests open many connections as one user from one address:
  # raise the per user+IP limit (default 10).
  mail_max_userip_connections = 1000
}
# IDLE pushes changes at once via inotify; without inotify, poll every second
# instead of every 30 s.
mailbox_idle_check_interval = 1 secs
EOF
)
conf_changed=0
if [[ ! -f $CONF || $(<"$CONF") != "$new_conf" ]]; then
    printf '%s\n' "$new_conf" >"$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
    conf_changed=1
fi

# --- start ----------------------------------------------------------------------------
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
# The first 4 bytes a server sends: "* OK" from IMAP (only once its auth process is
# ready), "220 " from LMTP.
greeting() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 4 <&3" 2>/dev/null; }
ready() { [[ $(greeting $IMAP_PORT) == "* OK" && $(greeting $LMTP_PORT) == "220 " ]]; }
# Running: master.pid names a live dovecot process. Not just `kill -0`: a killed master
# can stay a zombie for seconds (until PID 1 reaps it), and a zombie's exe is unreadable.
running() {
    [[ -f $PIDFILE ]] && [[ $(readlink "/proc/$(<"$PIDFILE")/exe" 2>/dev/null) == */dovecot ]]
}

if running && ((conf_changed)); then
    echo "reloading Dovecot (config changed)" >&2
    dovecot -c "$CONF" reload
fi

# Wait up to 10 s for the instance to answer, starting it once if it is not running.
# A master that is still shutting down (just sent SIGTERM) is waited out and then
# started again; so are its children that briefly keep the ports after a SIGKILL.
started=0
for _ in $(seq 1 50); do
    if running; then
        ready && break
    elif ((!started)) && ! port_open $IMAP_PORT && ! port_open $LMTP_PORT; then
        rm -f "$PIDFILE" # a stale one (e.g. naming a zombie) makes dovecot refuse to start
        echo "starting Dovecot (IMAP 127.0.0.1:$IMAP_PORT, LMTP 127.0.0.1:$LMTP_PORT)" >&2
        # Forks into the background; fails right here on a bad config.
        dovecot -c "$CONF" || die "dovecot did not start; see $STATE/dovecot.log"
        started=1
    fi
    sleep 0.2
done
if ! running || ! ready; then
    if ! running && { port_open $IMAP_PORT || port_open $LMTP_PORT; }; then
        die "127.0.0.1:$IMAP_PORT or :$LMTP_PORT is taken by something other than this Dovecot instance"
    fi
    tail -n 20 "$STATE/dovecot.log" >&2 2>/dev/null || true
    die "Dovecot is not answering on 127.0.0.1:$IMAP_PORT and :$LMTP_PORT after 10 s; see $STATE/dovecot.log"
fi

echo "dovecot imap=127.0.0.1:$IMAP_PORT lmtp=127.0.0.1:$LMTP_PORT users=$(IFS=,; echo "${USERS[*]}") password=$PASSWORD passwd_file=$PASSWD maildir=$STATE/mail/<user> log=$STATE/dovecot.log"
