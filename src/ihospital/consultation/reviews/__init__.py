"""Reviews (评价) of closed consultations: the patient's stars, tags and text, the institution's
moderation of held text, the doctor's one reply, and the doctor's public rating."""
