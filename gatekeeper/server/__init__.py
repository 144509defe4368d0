"""The composition root: the only place that constructs gatekeeper's services and wires them together
(`container.build`), builds the listeners from them (`listeners`) and runs them (`run`)."""
