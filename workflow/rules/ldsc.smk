# Rules of the ldsc stage.
