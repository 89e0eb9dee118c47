/*
 * quota_cli.h - the `keepftpd quota` command.
 * Runs in: keepftpd quota command.
 */
#ifndef KF_QUOTA_CLI_H
#define KF_QUOTA_CLI_H

/* argv[0] is "quota"; returns the exit status. */
int quota_cli(int argc, char **argv);

#endif
