// Standalone local Slack: `npm run emulator:slack -- --port 4100 --app-url http://127.0.0.1:3000/slack/events`
import { parseArgs } from 'node:util';
import { startSlackEmulator } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.SLACK_EMULATOR_PORT ?? '4100' },
    host: { type: 'string', default: '127.0.0.1' },
    'app-url': { type: 'string', default: process.env.SLACK_APP_URL },
    'signing-secret': { type: 'string', default: process.env.SLACK_SIGNING_SECRET },
    'bot-token': { type: 'string', default: process.env.SLACK_BOT_TOKEN },
    'app-token': { type: 'string', default: process.env.SLACK_APP_TOKEN },
    'socket-mode': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`Usage: npm run emulator:slack -- [--port 4100] [--host 127.0.0.1] [--app-url URL] [--signing-secret S] [--bot-token xoxb-...] [--app-token xapp-...] [--socket-mode]
Runs a local Slack Web API and a driver you can call over HTTP (see emulators/slack/README.md).`);
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const emu = await startSlackEmulator({
  port,
  host: values.host,
  ...(values['app-url'] ? { appUrl: values['app-url'] } : {}),
  ...(values['signing-secret'] ? { signingSecret: values['signing-secret'] } : {}),
  ...(values['bot-token'] ? { botToken: values['bot-token'] } : {}),
  ...(values['app-token'] ? { appToken: values['app-token'] } : {}),
  socketMode: values['socket-mode'],
});

const seed = [
  { name: 'alice', realName: 'Alice Archer', email: 'alice@example.com' },
  { name: 'bob', realName: 'Bob Baker', email: 'bob@example.com' },
  { name: 'carol', realName: 'Carol Chen', email: 'carol@example.com' },
];
const users = seed.map((u) => emu.addUser(u));
const ops = emu.addChannel('ops', { members: users.map((u) => u.id) });

console.log(`Firebreak Slack emulator
  API URL (slackApiUrl): ${emu.apiUrl}
  Bot token:             ${emu.botToken}
  Signing secret:        ${emu.signingSecret}
  App-level token:       ${emu.appToken}   (Socket Mode: ${values['socket-mode'] ? 'on' : 'on once an app connects'})
  Team:                  ${emu.teamId}   bot user ${emu.botUserId}
  App URL (driver →):    ${values['app-url'] ?? '(not set: pass --app-url to let the driver reach Firebreak)'}
  Users:                 ${users.map((u) => `${u.name}=${u.id} <${u.email}>`).join(', ')}
  Channels:              #general, #ops=${ops.id} (bot and users are members)
  State:                 GET  ${emu.url}/_emulator/state
  Driver:                POST ${emu.url}/_emulator/driver/slashCommand {"userId":"${users[0]!.id}","channelId":"${ops.id}","command":"/incident","text":"declare"}`);

const shutdown = async () => {
  await emu.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
