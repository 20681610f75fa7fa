// Smbkrb copies files to and from SMB servers (Windows file servers,
// Samba, Azure Files) with Kerberos only: no NTLM, mutual authentication,
// every message signed or encrypted. It needs no system Kerberos setup:
// the realm, its KDCs or HTTPS KDC proxy, and which servers belong to
// which realm come from flags or a small configuration file, and tickets
// live in an MIT credential cache that kinit, klist and smbclient share.
//
// Usage:
//
//	smbkrb COMMAND [flags] ARGS
//
// # Commands
//
//	ls [-l] [-R] [--json] //server/share[/dir]   list a directory (-R: everything below it), or describe one file
//	stat [--json] //server/share/path            describe a file or directory
//	get //server/share/path [LOCAL|-]            download a file
//	get -r //server/share/dir [LOCAL]            download a directory tree
//	put [--in-place] LOCAL|- //server/share/path upload a file
//	put -r LOCAL //server/share/dir              upload a directory tree
//	rm //server/share/path                       remove a file or an empty directory
//	mkdir [-p] //server/share/dir                make a directory (-p: and its parents)
//	mv //server/share/from //server/share/to     rename or move within one share
//	mount //server/share[/dir] MOUNTPOINT        serve the share as a local file system (FUSE)
//	kinit [PRINCIPAL]                            log in; keep the ticket-granting ticket in the cache
//	klist [--json]                               show the cache's principal and tickets (and the Entra sign-in)
//	kdestroy                                     destroy the cache
//	entra register                               register this device with Microsoft Entra ID
//	entra login [--device-code] [UPN]            sign in: a Primary Refresh Token and a cloud TGT
//	entra status [--json]                        show the device and the sign-in
//	entra logout                                 forget the sign-in
//	entra unregister [--local]                   delete the device from the directory and here
//	doctor [--json] [//server/share]             check what the file commands need, step by step
//	help [COMMAND|TOPIC]                         this manual, a command's flags, or one topic
//	version                                      print the version
//
// Flags may stand before or after the arguments; "--" ends them. Every
// command takes -h for its flags.
//
// get writes LOCAL (by default the remote file's base name in the current
// directory; a directory means the base name in it; "-" means standard
// output) through a hidden temporary file in the same directory, renamed
// over LOCAL only when every byte has arrived: an interrupted get leaves no
// partial file. put reads LOCAL ("-" is standard input) and, unless
// --in-place, writes a hidden temporary file next to the target that is
// renamed over it when complete. When the remote path is a directory (or
// ends in "/"), put writes the local file's base name into it. mv into an
// existing directory moves the file into it. ls of a file shows that file.
//
// get -r and put -r copy a directory and everything below it, several
// files at once on one session (--files N, default 8), each file through a
// temporary name renamed into place, with its modification time kept.
// get -r writes into LOCAL (default: the directory's name), made if
// missing; put -r into the remote directory, made if missing. --update
// skips files whose copy has the same size and modification time, so a
// rerun after an interruption moves only what is missing; --dry-run says
// what would be copied. A file that fails is reported and does not stop
// the others; the summary (files, bytes, time, rate, skipped, failed) ends
// on standard error, or as JSON on standard output with --json, and the
// exit code is non-zero when a file failed. Symbolic links and other
// entries that are not files or directories are skipped with a message.
//
// mount serves the share (or a directory of it) at MOUNTPOINT through
// FUSE (/dev/fuse; fusermount3 from the fuse3 package for users other
// than root), in the foreground, until Ctrl-C, SIGTERM or
// `fusermount3 -u MOUNTPOINT`: ordinary programs then read and write the
// share as local files, over the same Kerberos session as the other
// commands, and with every credential they take. A file open for writing
// is staged in --staging-dir (default $TMPDIR) and uploaded when it is
// closed or fsync'ed, to a temporary name renamed over the file when
// complete: other clients see the old content until then, never a half
// file, and a failed upload is close's or fsync's error (EACCES, ENOSPC,
// EIO); a new or truncated file is uploaded while it is written.
// Opening an existing file for writing without truncating it first copies
// it into the staging directory. Sequential reads are read ahead in large
// requests. Attributes and listings are cached for --attr-timeout
// (default 1s). Every file belongs to --uid/--gid (default: the user
// mounting), with --file-mode/--dir-mode (default 0644/0755; the
// read-only attribute removes the write bits); chmod and chown change
// nothing; links, device files and extended attributes are not
// supported. --read-only refuses every change with EROFS; --allow-other
// lets other users in (FUSE allow_other); --debug-fuse logs every FUSE
// request. The session
// re-authenticates before its tickets end, so the mount lasts as long as
// the credentials can get tickets: with --user and a password, the
// password stays in memory for that until the mount ends (a keytab, a
// saved Entra sign-in or SMB OAuth need nothing kept). On SIGTERM what
// is staged is uploaded first; files still open then are served for 5
// more seconds, after which their next operations fail (ENOTCONN). The
// full error behind an EIO is printed on standard error.
//
// doctor checks, in order, and prints each step as OK, FAIL (with a line
// "try: WHAT TO DO") or SKIP: the configuration file and that others
// cannot write it; the Kerberos settings; with an Entra tenant, the
// tenant's metadata and its KDC proxy; the realm of the server's service
// principal, which mapping chose it, and that the realm has a KDC; each
// KDC of that realm, reached the way smbkrb reaches it (TCP, or the KDC
// proxy over TLS against --ca) with a probe AS-REQ whose KRB-ERROR gives
// the KDC's clock, and the difference from this machine's; the server's
// port 445 (the name resolved, or --addr); the credentials: the cache's
// ticket-granting tickets, or for Entra the device registration and the
// saved sign-in, or for SMB OAuth an access token (skipped with --user,
// whose login comes next); then a real login as a file command makes it,
// the service ticket (unknown SPN, Entra's AADSTS700016), the SMB session
// (dialect, signing, cipher) and the tree connect. Its exit code is that
// of the first failure; --json prints {"server", "checks": [{"name",
// "status", "detail", "try"}], "exit"}. Without //server/share it checks
// the settings, the KDCs and the credentials.
//
// get and put show a progress bar (bytes, percent, rate) on standard
// error when it is a terminal, unless -q. They run until done or
// interrupted (Ctrl-C); --timeout bounds the login, the connection and
// every other operation.
//
// # Paths
//
// A remote path is //SERVER/SHARE/PATH with forward slashes;
// \\SERVER\SHARE\PATH and smb://SERVER/SHARE/PATH work too. SERVER is the
// name the server is registered under in the directory, because the
// service principal cifs/SERVER comes from it; an IP address works only
// with --spn naming the principal. To connect to an address that DNS does
// not give for that name, add --addr SERVER=ADDRESS (host or host:port);
// //SERVER:PORT/SHARE sets the port alone.
//
// # Flags
//
// Kerberos and connection settings (the file commands and kinit; klist
// and kdestroy take only --config, --cache and -v):
//
//	--config FILE         configuration file (see 'smbkrb help config')
//	--realm REALM         default realm, for principal names without one
//	--kdc REALM=KDC       a KDC of REALM: host, host:port or https://proxy/KdcProxy
//	                      (MS-KKDCP, https only); repeatable, tried in order
//	--ca FILE             PEM roots trusted for KDC proxies and Entra (default: system roots)
//	--map HOST=REALM      server HOST, or every host under .SUFFIX, is in REALM; repeatable
//	--addr NAME=ADDRESS   connect to ADDRESS for server NAME; repeatable
//	--spn SPN             service principal to use instead of cifs/SERVER
//	--encrypt             encrypt the whole session, every share included
//	--timeout DURATION    bound for login, connect and metadata operations (default 60s)
//	--clock-skew DURATION tolerated clock difference (default 5m)
//	--use-krb5-conf       also read $KRB5_CONFIG or /etc/krb5.conf (off by default)
//	--cache NAME          credential cache (see 'smbkrb help credentials')
//	-v, --verbose         report on stderr: principal, tickets, server, address, dialect,
//	                      signing, cipher, share encryption, bytes, time, sha256
//
// Credentials:
//
//	-u, --user PRINCIPAL  log in as PRINCIPAL (alice@EXAMPLE.COM) instead of using the cache
//	--password-file FILE  read the password from the first line of FILE (mode 0600)
//	--password-stdin      read the password from the first line of standard input
//	--keytab FILE         log in with a key from this keytab instead of a password
//	--enterprise          PRINCIPAL is an enterprise name (a user principal name)
//	--lifetime DURATION   kinit only: the ticket lifetime to ask for (default 10h)
//
// Transfers (get, put):
//
//	--parallel N          requests in flight at most (default 4; a long transfer
//	                      keeps 1 when that measures faster)
//	--chunk SIZE          request size: 65536, 256KiB, 1MiB (default 4MiB)
//	-q, --quiet           no progress bar
//	--in-place            put only: write straight into the target
//	-r                    get and put: a directory tree
//	--files N             -r: files copied at once (default 8)
//	--update              -r: skip files whose copy has the same size and modification time
//	--dry-run             -r: say what would be copied, copy nothing
//	--json                -r: the summary as JSON
//
// Microsoft Entra (see 'smbkrb help entra-kerberos'):
//
//	--entra-tenant TENANT  the tenant ID: servers under .file.core.windows.net use Entra Kerberos
//	--entra-domain DOMAIN  the domain devices register in (default: the tenant, if a domain)
//	--entra-dir DIR        the device identity and sign-in (default /var/lib/smbkrb/device for
//	                       root, else $XDG_STATE_HOME/smbkrb/device or ~/.local/state/smbkrb/device)
//	--entra-authority URL, --entra-drs URL, --entra-kdc URL
//	                       other endpoints than Microsoft's public cloud (sovereign clouds, tests)
//	--device-code          entra login: sign in in a browser elsewhere (with MFA if asked)
//	--token-file FILE      entra register: a device registration token instead of a device code
//	--name NAME            entra register: the device's name in the directory
//	--local                entra unregister: forget the device here only
//
// Azure Files SMB OAuth, for applications and managed identities (see
// 'smbkrb help smb-oauth'):
//
//	--oauth-client-id ID     the application (client ID); needs --entra-tenant
//	--oauth-cert FILE        its certificate and private key, PEM (mode 0600)
//	--oauth-secret-file FILE its client secret (mode 0600), or $SMBKRB_OAUTH_SECRET
//	--managed-identity       the Azure host's system-assigned managed identity
//	--managed-identity-id ID a user-assigned managed identity
//	--oauth-endpoint URL     the exchange's endpoint, {account} for the server name
//	                         (default https://{account}; private endpoints, tests)
//
// Without --realm, a single realm given with --kdc is the default realm.
// Without a --map entry for a server, the service ticket is found by
// following the KDC's referrals from the user's realm, which Active
// Directory supports.
//
// # Configuration file
//
// Settings not given as flags are read from a configuration file:
// --config FILE, else $SMBKRB_CONFIG, else ~/.config/smbkrb/config
// ($XDG_CONFIG_HOME/smbkrb/config) if it exists. Each line is a setting
// name (a long flag name without the dashes) and its value, separated by
// spaces; a line starting with # is a comment; blank lines are ignored.
// A boolean setting alone on its line means true. kdc, map and addr may
// be repeated. Relative paths for ca, keytab, password-file, entra-dir,
// oauth-cert and oauth-secret-file are taken from the file's directory.
//
// The settings are realm, kdc, ca, map, addr, spn, encrypt, parallel,
// chunk, timeout, clock-skew, use-krb5-conf, cache, user, keytab,
// password-file, enterprise, verbose, quiet, entra-tenant, entra-domain,
// entra-authority, entra-drs, entra-kdc, entra-dir, oauth-client-id,
// oauth-cert, oauth-secret-file, managed-identity, managed-identity-id and
// oauth-endpoint. A command ignores the
// settings it has no flag for; an unknown name is an error.
//
// Flags win: a flag replaces the file's value of the same setting, and a
// kdc, map or addr flag replaces the file's entries for the same realm,
// host or server name (the file's other entries stay).
//
// Example:
//
//	# ~/.config/smbkrb/config
//	realm CORP.EXAMPLE.COM
//	kdc CORP.EXAMPLE.COM=dc1.corp.example.com
//	kdc CORP.EXAMPLE.COM=dc2.corp.example.com:88
//	kdc CORP.EXAMPLE.COM=https://kdcproxy.corp.example.com/KdcProxy
//	ca /etc/smbkrb/corp-root.pem
//	map .corp.example.com=CORP.EXAMPLE.COM
//	map acct.file.core.windows.net=CORP.EXAMPLE.COM
//	addr fs1.corp.example.com=10.1.2.3
//	encrypt
//
// # Credentials and caches
//
// Without --user, smbkrb uses the tickets already in the credential cache,
// put there by smbkrb kinit, MIT kinit or another Kerberos program, and
// adds the service tickets it gets to it. With --user it logs in: with
// --keytab FILE, or with a password from --password-file, --password-stdin
// or, when standard input is a terminal, a prompt that does not echo.
// There is no flag that takes the password itself: command lines are
// visible to other users. Password bytes are zeroed after the login.
//
// The cache is --cache NAME, any MIT cache name: FILE:/path, DIR:/path,
// KEYRING:persistent:UID, KCM:, MEMORY:name. Its default, for kinit,
// klist, kdestroy and the file commands without --user, is $KRB5CCNAME,
// else FILE:/tmp/krb5cc_UID, the cache MIT's tools and smbclient use by
// default. File commands with --user use a private in-memory cache instead,
// so no ticket touches the disk, unless --cache names one. FILE: caches
// smbkrb writes have mode 0600.
//
// smbkrb reads no system Kerberos configuration (/etc/krb5.conf,
// $KRB5_CONFIG) unless --use-krb5-conf asks for it. Only AES-256
// encryption types are used.
//
// # Microsoft Entra
//
// Azure Files accounts that use Microsoft Entra Kerberos (cloud identities,
// no domain controller) are reached with an Entra sign-in of this device;
// everything goes over HTTPS, port 88 is never used. Once:
//
//	smbkrb entra register --entra-tenant TENANT-ID --entra-domain contoso.com
//	smbkrb entra login alice@contoso.com
//
// register shows an address and a code: sign in there, on any device, as a
// user who may register devices. It makes the device key and the
// transport key here and keeps them, with the certificate the directory
// issues, in --entra-dir (files of mode 0600). login asks for the
// password (or reads --password-stdin or --password-file); with
// --device-code it shows an address and a code instead, which also works
// when the tenant requires multi-factor authentication. It saves the
// sign-in (the Primary Refresh Token and its session key) next to the
// device identity and puts the cloud TGT for KERBEROS.MICROSOFTONLINE.COM
// into the Entra cache (FILE:DIR/krb5cc, or --cache).
//
// After that, with entra-tenant in the configuration file, the file
// commands on //ACCOUNT.file.core.windows.net/SHARE/... use that sign-in:
// the service ticket for cifs/ACCOUNT.file.core.windows.net comes from the
// tenant's KDC proxy, and when the cloud TGT nears its end (Entra does not
// renew TGTs) the sign-in is refreshed and saved again, so later runs need
// no password. A storage account that uses AD DS instead keeps its realm
// with a map line for it (map adacct.file.core.windows.net=CORP.EXAMPLE.COM),
// which wins over the .file.core.windows.net default. klist shows the
// sign-in and the Entra cache; entra status shows the device and the
// sign-in; entra logout forgets the sign-in; entra unregister deletes the
// device from the directory (authenticated by its certificate) and removes
// everything here.
//
// # SMB OAuth
//
// A workload without a user (a service on a device, an app with a managed
// identity) gets its tickets from the storage account itself: it exchanges
// an OAuth access token for https://storage.azure.com at the account's
// file endpoint (https://ACCOUNT.file.core.windows.net/?restype=service&
// comp=kerbticket) for a service ticket of cifs/ACCOUNT.file.core.windows.net
// in realm FILES.AZURE.STORAGE.MICROSOFT.COM, as client AzureFileClient.
// No KDC and no port 88 are involved, and no TGT exists:
//
//	smbkrb put --entra-tenant TENANT-ID --oauth-client-id APP-ID --oauth-cert app.pem \
//	    data.csv //acct.file.core.windows.net/share/in/
//	smbkrb ls --managed-identity //acct.file.core.windows.net/share
//
// The token comes from MSAL for Go: the client-credentials flow with the
// certificate (or a secret), or the managed identity the environment
// offers (App Service's IDENTITY_ENDPOINT and IDENTITY_HEADER, Azure Arc,
// or the VM's instance metadata service). The ticket is kept in
// FILE:STATE/smboauth/krb5cc (STATE as for --entra-dir, or --cache), and
// exchanged again when it nears its end, five minutes early; klist shows
// it. The account must have SMB OAuth enabled and the identity an SMB data
// role ("Storage File Data SMB MI Admin"); otherwise the exchange is
// refused (exit code 5).
//
// # Output
//
// ls prints names, directories with a trailing "/"; ls -l adds mode, size
// and modification time; ls --json prints an array of objects
// {"name", "size", "mode", "dir", "mtime"} (mode as in "-rw-r--r--", mtime
// in RFC 3339). stat --json prints one such object with "path" too, and
// ls -R --json one per entry below the directory, "path" relative to it.
// get -r --json and put -r --json print {"from", "to", "files", "bytes",
// "skipped", "failed", "dirs", "seconds", "bytes_per_second", "failures":
// [{"path", "error"}]} ("dry_run": true with --dry-run).
// klist --json prints {"cache", "principal", "tickets": [{"server",
// "client", "start", "end", "renew_till", "key_enctype", "ticket_enctype",
// "flags", "expired"}]}, times in RFC 3339, renew_till null when the
// ticket is not renewable, flags in klist's letters (F forwardable, R
// renewable, I initial, A pre-authenticated, ...); with an Entra tenant
// configured it adds "entra": {"dir", "tenant", "device_id", "signed_in",
// "user", "prt_expires", "client", "tgt_start", "tgt_end", "tgt_expired",
// "cache", "tickets"}, and "smb_oauth": {"cache", "tickets"} when there are
// SMB OAuth tickets. entra status --json prints the Entra object without
// cache and tickets.
//
// Errors go to standard error as "smbkrb: WHAT FAILED: CAUSE", often
// followed by a line "try: WHAT TO DO".
//
// # Exit codes
//
//	0    success
//	1    another failure
//	2    usage error: unknown command or flag, wrong arguments, bad setting
//	3    authentication or Kerberos failure: wrong password, unknown principal,
//	     clock skew, no or expired tickets, unknown service principal (SPN),
//	     ticket rejected by the server; for Entra also MFA required, user not
//	     assigned, device disabled or deleted, not registered, not signed in
//	4    not found: file, directory or share
//	5    permission denied, or the share is read-only, or the storage account
//	     refused the SMB OAuth exchange
//	6    security policy refused: the server will not sign or encrypt as required
//	7    network: KDC, server or Entra unreachable (or a KDC proxy's or Entra's
//	     certificate not trusted), connection lost, timeout
//	130  interrupted (Ctrl-C or SIGTERM)
//
// # Examples
//
// With a configuration file that names the realm and its KDC (see the
// example under CONFIGURATION FILE), log in once, then work with the
// tickets in the default cache:
//
//	smbkrb kinit alice@CORP.EXAMPLE.COM
//	smbkrb ls -l //fs1.corp.example.com/data/reports
//	smbkrb get //fs1.corp.example.com/data/reports/q3.pdf
//	smbkrb put notes.txt //fs1.corp.example.com/data/reports/
//	smbkrb klist
//	smbkrb kdestroy
//
// The same without a configuration file:
//
//	smbkrb kinit --kdc CORP.EXAMPLE.COM=dc1.corp.example.com alice@CORP.EXAMPLE.COM
//	smbkrb ls --kdc CORP.EXAMPLE.COM=dc1.corp.example.com //fs1.corp.example.com/data
//
// A script with a keytab, a private in-memory cache and required encryption:
//
//	smbkrb put --user backup@CORP.EXAMPLE.COM --keytab /etc/smbkrb/backup.keytab \
//	    --encrypt db.dump //fs1.corp.example.com/backups/db.dump
//
// A password from a file, the server at an address DNS does not know:
//
//	smbkrb get -u alice@CORP.EXAMPLE.COM --password-file ~/.smbkrb-pw \
//	    --addr fs1.corp.example.com=10.1.2.3 //fs1.corp.example.com/data/a.bin - | sha256sum
//
// Azure Files with Microsoft Entra Kerberos, after entra register and entra
// login (the configuration file has entra-tenant):
//
//	smbkrb put report.pdf //acct.file.core.windows.net/share/reports/
//	smbkrb klist
//
// Azure Files joined to on-premises AD DS, the KDC reached only through an
// HTTPS KDC proxy:
//
//	smbkrb ls -u alice@CORP.EXAMPLE.COM \
//	    --kdc CORP.EXAMPLE.COM=https://kdcproxy.corp.example.com/KdcProxy --ca corp-root.pem \
//	    --map acct.file.core.windows.net=CORP.EXAMPLE.COM //acct.file.core.windows.net/share
package main
