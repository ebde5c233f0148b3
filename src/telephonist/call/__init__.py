"""One `CallSession` per call: turn-taking, barge-in, silence, DTMF, hang-up."""
