# Rules of the evaluate stage.
