# Rules of the asb stage.
