"""A stand-in pyvista render process that never finishes (for the render timeout test)."""
import threading

if __name__ == "__main__":
    threading.Event().wait()
