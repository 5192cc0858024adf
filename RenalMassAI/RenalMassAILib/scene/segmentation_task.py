"""The module's segmentation, one at a time: start, poll without blocking, cancel, clean up.

Every way a run ends (done, the worker's error, a failing load, Cancel, the scene closing) leaves
`running` False and no temporary patient file behind, so the module's controls can be set from
`running` alone.
"""

import weakref

import slicer


class SegmentationTask:
    def __init__(self, logic, scene):
        """logic: a RenalMassAILogic; scene: the scene whose closing cancels the run."""
        self.logic = logic
        self.run = None
        self._params = None
        self._scene = scene
        # Through a weak reference: the scene must not keep the task alive, nor call a dead one.
        task = weakref.ref(self)
        self._observer = scene.AddObserver(
            slicer.vtkMRMLScene.StartCloseEvent, lambda caller, event: task() is not None and task()._on_scene_closing()
        )

    @property
    def running(self) -> bool:
        return self.run is not None

    def start(self, params) -> None:
        """Starts the worker on the selected phases; progress then arrives through `poll()`."""
        if self.running:
            raise RuntimeError("a segmentation is running already; cancel it first")
        run = self.logic.startSegmentation(params)
        try:
            run.job.watch()
        except BaseException:
            run.cancel()
            raise
        self.run, self._params = run, params

    def poll(self) -> list[dict]:
        """The worker's messages since the last call. On "done" the label map is loaded into the
        segmentation node (the message gets it as "segmentation"). The worker's error and a failing
        load are raised, after the run has ended."""
        if self.run is None:
            return []
        messages = self.run.messages()
        for message in messages:
            if message.get("stage") == "error":
                self._take()[0].discard()  # the worker has ended; its own files are gone already
                raise RuntimeError(f"segmentation failed: {message.get('message')}")
            if message.get("stage") == "done":
                run, params = self._take()
                message["segmentation"] = self.logic.loadSegmentation(params, run)  # removes the labels
                break
        return messages

    def cancel(self) -> None:
        """Ends the worker's process group; removes its files and the label folder."""
        run, _ = self._take()
        if run is not None:
            run.cancel()

    def close(self) -> None:
        """Cancels the run and stops watching the scene (the module is being removed)."""
        self.cancel()
        if self._observer is not None:
            self._scene.RemoveObserver(self._observer)
            self._observer = None

    def _take(self):
        """(run, params), and no run is current any more."""
        taken = self.run, self._params
        self.run, self._params = None, None
        return taken

    def _on_scene_closing(self) -> None:
        self.cancel()  # its nodes and parameters are about to go: nothing left to load into
