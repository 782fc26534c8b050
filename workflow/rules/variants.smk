# Rules of the variants stage.
