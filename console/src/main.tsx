import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { watch } from './live/watch';
import './styles.css';

// The end-to-end tests drop the watch's connection to prove the console resumes without loss.
(window as unknown as { qvdcConsole: unknown }).qvdcConsole = { dropWatch: () => watch.dropForTest(), watch };

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
