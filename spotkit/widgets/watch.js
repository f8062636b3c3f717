// Tells the kernel whether a now-playing card is watched: its element on screen (an
// IntersectionObserver) in a visible tab (the Page Visibility API). It sends a message when that
// changes, and renews "watched" every `renew_ms` while it lasts: the kernel counts a view as
// unwatched once renewals stop (a laptop asleep, a page closed, a connection lost).
// This view draws nothing; the card around it is made of ipywidgets' stock controls.

function viewId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function render({ model, el }) {
  const view = viewId();
  el.style.display = "none";
  el.setAttribute("aria-hidden", "true");
  let onScreen = false;
  let sent = null;
  let observer = null;
  let waiting = null;
  let card = null;

  const watched = () => onScreen && document.visibilityState === "visible";
  const send = (renew) => {
    const now = watched();
    if (now !== sent || (renew && now)) {
      model.send({ kind: "watch", view, watched: now });
      sent = now;
    }
  };
  const observe = () => {
    if (!el.isConnected) {  // ipywidgets attaches a box's children after rendering them
      waiting = setTimeout(observe, 50);
      return;
    }
    waiting = null;
    card = el.closest(model.get("card_selector")) ?? el.parentElement ?? el;
    observer = new IntersectionObserver((entries) => {
      onScreen = entries[entries.length - 1].isIntersecting;
      send(false);
    });
    observer.observe(card);
  };
  const onVisibility = () => send(false);
  const onPageHide = () => {
    onScreen = false;
    send(false);
  };

  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", onPageHide);
  const renew = () => {
    if (card !== null && !card.isConnected) onScreen = false;  // a cell taken out of the page
    send(true);
  };
  const renewal = setInterval(renew, model.get("renew_ms"));
  observe();

  return () => {
    clearInterval(renewal);
    if (waiting !== null) clearTimeout(waiting);
    observer?.disconnect();
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("pagehide", onPageHide);
    if (sent) model.send({ kind: "watch", view, watched: false });
  };
}

export default { render };
