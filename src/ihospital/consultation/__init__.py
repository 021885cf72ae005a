"""Online consultation (在线问诊): doctors' price lists and the consultation lifecycle."""
