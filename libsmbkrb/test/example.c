/* Fetch one file from an SMB share with Kerberos, through a KDC proxy.
 * usage: example REALM KDC CA.pem USER SERVER ADDR SHARE REMOTE LOCAL <password */
#include <stdio.h>
#include <string.h>
#include "smbkrb.h"

int main(int argc, char **argv) {
	smbkrb_config *cfg = NULL; smbkrb_cred *cred = NULL;
	smbkrb_session *s = NULL; smbkrb_share *sh = NULL;
	char pw[256];
	if (argc != 10 || fgets(pw, sizeof pw, stdin) == NULL) return SMBKRB_ERR_USAGE;
	pw[strcspn(pw, "\n")] = '\0';
	int rc = smbkrb_config_new(&cfg);
	if (rc == SMBKRB_OK) rc = smbkrb_config_add_kdc(cfg, argv[1], argv[2]);
	if (rc == SMBKRB_OK) rc = smbkrb_config_add_ca_file(cfg, argv[3]);
	if (rc == SMBKRB_OK) rc = smbkrb_cred_password(argv[4], pw, strlen(pw), &cred);
	memset(pw, 0, sizeof pw);
	if (rc == SMBKRB_OK) rc = smbkrb_connect(cfg, cred, argv[5], argv[6], NULL, &s);
	if (rc == SMBKRB_OK) rc = smbkrb_mount(s, argv[7], NULL, &sh);
	if (rc == SMBKRB_OK) rc = smbkrb_get(sh, argv[8], argv[9], NULL, NULL);
	if (rc != SMBKRB_OK) fprintf(stderr, "%s: %s\n", smbkrb_status_name(rc), smbkrb_last_error());
	smbkrb_share_close(sh); smbkrb_session_close(s); smbkrb_cred_free(cred); smbkrb_config_free(cfg);
	return rc;
}
