"""`kvminit boot`: a guest on the initialised VM reads the e820 table over fw_cfg."""
