# Rules of the figures stage.
