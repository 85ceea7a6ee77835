"""Real text nobody here wrote, read from ``../shared/external`` at training and evaluation time (never copied
into the repository): only labels and ids are kept here."""
