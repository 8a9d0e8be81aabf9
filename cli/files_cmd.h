/*
 * cli/files_cmd.h - `tabledata schema` and `tabledata locations`: a
 * directory of data files (or one file) through the file backend.
 */
#ifndef TD_CLI_FILES_CMD_H
#define TD_CLI_FILES_CMD_H

int td_cmd_schema(int argc, char **argv);
int td_cmd_locations(int argc, char **argv);

#endif
